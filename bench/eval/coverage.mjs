// bench/eval/coverage.mjs — how often does `kith evaluate`'s 95% interval
// hold the truth? A measuring program, not a test: it prints figures and
// exits 0 whatever they are (non-zero only when a command fails).
//
// For each seed, two places of N people are generated with `kith synth --out`:
// one with the programme's injected effect (the MDT lowers a person's
// emergency admission hazard by 12% from their discussion) and one, the same
// seed, with no effect (--programme-effect 0). Nothing before a person's
// discussion depends on the effect, and people never discussed are the same
// people with the same records in both, so `kith evaluate` picks the same
// treated people and the same matched comparators in both places. That gives
// the realised truth of each seed exactly: the treated people's admissions
// after, with the effect, against the same people without it. The interval
// of the place with the effect should hold that truth (and the nominal -12%)
// and exclude 0; the interval of the place without the effect should hold 0.
//
// Usage: node bench/eval/coverage.mjs [--people N] [--seeds K] [--first S] [--kith PATH] [--work DIR]
//                                     [--evaluate-args "--with-replacement ..."]
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const people = Number(arg('people', 150000));
const seeds = Number(arg('seeds', 10));
const first = Number(arg('first', 1));
const kith = arg('kith', 'bin/kith');
const work = arg('work', 'bench/out/eval');
const extra = (arg('evaluate-args', '') || '').split(' ').filter(Boolean); // e.g. "--with-replacement"
mkdirSync(work, { recursive: true });

const run = (args) => execFileSync(kith, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
const pct = (v) => `${(100 * v).toFixed(1)}%`;
const rows = [];
console.log(`== kith evaluate coverage: ${seeds} seeds of ${people} people (effect 12% and none)`);
for (let seed = first; seed < first + seeds; seed++) {
  const out = {};
  for (const [name, effect] of [['effect', '0.12'], ['null', '0']]) {
    const dir = join(work, `place-${seed}-${name}`);
    rmSync(dir, { recursive: true, force: true });
    const t0 = Date.now();
    run(['synth', '--people', String(people), '--seed', String(seed), '--programme-effect', effect, '--out', dir, '--quiet']);
    const t1 = Date.now();
    const truth = JSON.parse(readFileSync(join(dir, 'ground-truth.json'), 'utf8'));
    const start = truth.start;
    const [y, m, d] = start.split('-').map(Number);
    const end = new Date(Date.UTC(y + truth.years, m - 1, d) - 86400000).toISOString().slice(0, 10);
    const json = run(['evaluate', '--ndjson', dir, '--from', start, '--to', end, '--seed', String(seed), '--json', '--quiet', ...extra]);
    out[name] = { r: JSON.parse(json), synth: (t1 - t0) / 1000, evaluate: (Date.now() - t1) / 1000 };
    rmSync(dir, { recursive: true, force: true });
  }
  const e = out.effect.r, n = out.null.r;
  const ae = e.outcomes.find((o) => o.outcome === 'emergency-admissions');
  const an = n.outcomes.find((o) => o.outcome === 'emergency-admissions');
  const same = e.matched === n.matched && ae.beforeTreated === an.beforeTreated && ae.afterControl === an.afterControl;
  const truth = ae.afterTreated / an.afterTreated - 1; // the same treated people, with against without the effect
  const row = {
    seed, treated: e.treated, matched: e.matched, same,
    rel: ae.relative.value, lo: ae.relative.lo, hi: ae.relative.hi, truth,
    holdsTruth: ae.relative.lo <= truth && truth <= ae.relative.hi,
    holdsNominal: ae.relative.lo <= -0.12 && -0.12 <= ae.relative.hi,
    excludesZero: ae.relative.hi < 0,
    nullRel: an.relative.value, nullLo: an.relative.lo, nullHi: an.relative.hi,
    nullHoldsZero: an.relative.lo <= 0 && 0 <= an.relative.hi,
    pretrend: e.eventStudy.pretrendOk,
    seconds: out.effect.synth + out.effect.evaluate + out.null.synth + out.null.evaluate,
    evalSeconds: out.effect.evaluate,
  };
  rows.push(row);
  console.log(`seed ${seed}: ${row.matched}/${row.treated} matched${same ? '' : ' (PAIRS DIFFER between the places)'}; ` +
    `effect place ${pct(row.rel)} (${pct(row.lo)} to ${pct(row.hi)}), realised truth ${pct(truth)}; ` +
    `no-effect place ${pct(row.nullRel)} (${pct(row.nullLo)} to ${pct(row.nullHi)}); ` +
    `pre-trend ${row.pretrend ? 'ok' : 'flagged'}; evaluate ${row.evalSeconds.toFixed(1)} s`);
}
const count = (f) => rows.filter(f).length;
console.log(`== over ${rows.length} seeds`);
console.log(`   effect place: interval holds the realised truth ${count((r) => r.holdsTruth)}/${rows.length}, ` +
  `the nominal -12% ${count((r) => r.holdsNominal)}/${rows.length}, excludes 0 ${count((r) => r.excludesZero)}/${rows.length}`);
console.log(`   no-effect place: interval holds 0 ${count((r) => r.nullHoldsZero)}/${rows.length}`);
const mean = (f) => rows.reduce((s, r) => s + f(r), 0) / rows.length;
console.log(`   mean estimate ${pct(mean((r) => r.rel))} (realised truth ${pct(mean((r) => r.truth))}); ` +
  `no-effect mean ${pct(mean((r) => r.nullRel))}; pre-trend flagged ${count((r) => !r.pretrend)}/${rows.length}`);
