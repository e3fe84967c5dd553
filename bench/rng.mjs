// rng.mjs — the benchmarks' seeded random numbers (mulberry32: small, fast,
// deterministic), so every run generates and asks for the same things.
export function makeRng(seed) {
  let s = seed | 0;
  const rnd = () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    rnd,
    pick: (a) => a[Math.floor(rnd() * a.length)],
    int: (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1)),
  };
}
