// example-files.mjs DIR — print the official R4 example files that Kith loads
// and round-trips: JSON files under 1 MB whose resourceType is not a
// conformance or terminology type. One path per line.
import fs from 'node:fs';
import path from 'node:path';

export const EXCLUDED = new Set(['StructureDefinition', 'ValueSet', 'CodeSystem', 'SearchParameter',
  'OperationDefinition', 'CompartmentDefinition', 'ConceptMap', 'NamingSystem', 'CapabilityStatement',
  'ImplementationGuide', 'StructureMap', 'GraphDefinition', 'MessageDefinition', 'TerminologyCapabilities',
  'ExampleScenario']);

export function exampleFiles(dir) {
  const out = [];
  for (const f of fs.readdirSync(dir).sort()) {
    if (!f.endsWith('.json') || f === 'package.json' || f.startsWith('.')) continue;
    const p = path.join(dir, f);
    if (fs.statSync(p).size >= 1000000) continue;
    let j;
    try { j = JSON.parse(fs.readFileSync(p, 'utf8')); } catch { continue; }
    if (!j || typeof j.resourceType !== 'string' || EXCLUDED.has(j.resourceType)) continue;
    out.push(p);
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const p of exampleFiles(process.argv[2] || 'node_modules/hl7.fhir.r4.examples')) console.log(p);
}
