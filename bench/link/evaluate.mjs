// bench/link/evaluate.mjs — how good are `kith link`'s links? Reads the
// candidates `kith link --left --right --out FILE --review-from 0` wrote (the
// best NHS record for every other record, with its probability) and the
// ground truth, and prints precision and recall at a range of thresholds (the
// precision-recall curve) and for the decisions Kith made (decision = link).
//
//   node bench/link/evaluate.mjs --links links.csv --truth truth-identities.csv
//       truth: council_id,patient_id (kith synth --identities); an empty
//       patient_id means the person has no NHS record in the other file.
//   node bench/link/evaluate.mjs --links links.csv --place DIR
//       DIR: a `kith synth --out` place; the truth is its CLD rows without
//       an NHS number (cld.csv) and who they are (truth-people.csv).
//
// Recall counts every record that has a true NHS record, linked or not;
// precision counts the links made. Prints a table; exits 0 either way.
import fs from 'node:fs';
import readline from 'node:readline';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));

async function* rows(file) {
  const rl = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
  let cols = null;
  for await (const line of rl) {
    if (!line) continue;
    const v = line.split(','); // the columns read here never hold commas
    if (!cols) { cols = v; continue; }
    yield Object.fromEntries(cols.map((c, i) => [c, v[i] ?? '']));
  }
}

const truth = new Map(); // other record id -> true NHS record id, or '' for none
if (args.truth) {
  for await (const r of rows(args.truth)) truth.set(r.council_id, r.patient_id);
} else if (args.place) {
  const who = new Map();
  for await (const r of rows(`${args.place}/truth-people.csv`)) {
    if (r.LA_Person_Unique_Identifier) who.set(r.LA_Person_Unique_Identifier, r.Patient_Id);
  }
  for await (const r of rows(`${args.place}/cld.csv`)) {
    if (!r.NHS_Number) truth.set(r.LA_Person_Unique_Identifier, who.get(r.LA_Person_Unique_Identifier) ?? '');
  }
} else {
  console.error('usage: evaluate.mjs --links FILE (--truth FILE | --place DIR)');
  process.exit(2);
}

const cands = [];
for await (const r of rows(args.links)) {
  if (!truth.has(r.right_id)) continue;
  cands.push({ p: Number(r.probability), ok: truth.get(r.right_id) === r.left_id, link: r.decision === 'link' });
}
const members = [...truth.values()].filter((v) => v).length;
console.log(`records to link: ${truth.size} (${members} with an NHS record, ${truth.size - members} without)`);
console.log('threshold   links    right    wrong  precision  recall');
const line = (label, sel) => {
  const tp = sel.filter((c) => c.ok).length;
  const prec = sel.length ? tp / sel.length : 1;
  console.log(`${label.padEnd(10)} ${String(sel.length).padStart(6)} ${String(tp).padStart(8)} ${String(sel.length - tp).padStart(8)}`
    + `     ${prec.toFixed(4)}  ${(tp / members).toFixed(4)}`);
};
for (const t of [0.1, 0.5, 0.8, 0.9, 0.95, 0.99, 0.999, 0.9999, 0.99999]) line(String(t), cands.filter((c) => c.p >= t));
line('decided', cands.filter((c) => c.link));
