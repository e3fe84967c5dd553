// gen-observations.mjs N_PATIENTS PER_PATIENT — write synthetic vital-sign
// Observations as NDJSON on stdout: PER_PATIENT per Patient bench-000001...,
// codes drawn from 5 LOINC vital signs (so each code matches a fifth of all),
// with a value, unit and date. Deterministic (fixed seed).
const nPatients = Number(process.argv[2] || 100000);
const per = Number(process.argv[3] || 50);
const CODES = [
  ['8867-4', 'Heart rate', '/min', 60, 40],
  ['8480-6', 'Systolic blood pressure', 'mm[Hg]', 100, 60],
  ['8462-4', 'Diastolic blood pressure', 'mm[Hg]', 60, 40],
  ['29463-7', 'Body weight', 'kg', 45, 60],
  ['8310-5', 'Body temperature', 'Cel', 36, 3],
];
let seed = 42;
const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
const out = [];
const flush = () => { if (out.length) { process.stdout.write(out.join('\n') + '\n'); out.length = 0; } };
let n = 0;
for (let p = 1; p <= nPatients; p++) {
  const pid = `bench-${String(p).padStart(6, '0')}`;
  for (let k = 0; k < per; k++) {
    const [code, display, unit, base, spread] = CODES[(p + k) % CODES.length];
    const day = 1 + Math.floor(rnd() * 3000);
    const date = new Date(Date.UTC(2018, 0, 1) + day * 86400000).toISOString().slice(0, 10);
    out.push(JSON.stringify({
      resourceType: 'Observation', id: `obs-${p}-${k}`, status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
      code: { coding: [{ system: 'http://loinc.org', code, display }] },
      subject: { reference: `Patient/${pid}` }, effectiveDateTime: date,
      valueQuantity: { value: Math.round((base + rnd() * spread) * 10) / 10, unit, system: 'http://unitsofmeasure.org', code: unit },
    }));
    n++;
    if (out.length >= 5000) flush();
  }
}
flush();
process.stderr.write(`generated ${n} Observations\n`);
