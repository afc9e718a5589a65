// Compares two SDL files with graphql-inspector: prints every change and exits 1 when one breaks
// clients, unless the allowance is granted (the commit message says `BREAKING-SCHEMA: <reason>`).
//   node schema-diff.mjs OLD.graphql NEW.graphql [--allow-breaking]
import { readFileSync } from 'node:fs';
import { buildSchema } from 'graphql';
import { CriticalityLevel, diff } from '@graphql-inspector/core';

const [oldPath, newPath, flag] = process.argv.slice(2);
const load = (path) => buildSchema(readFileSync(path, 'utf8'));
const changes = await diff(load(oldPath), load(newPath));
const breaking = changes.filter((c) => c.criticality.level === CriticalityLevel.Breaking);
for (const change of changes) {
  console.log(`${change.criticality.level.padEnd(12)} ${change.message}`);
}
console.log(`${changes.length} schema changes, ${breaking.length} breaking`);
if (breaking.length > 0 && flag !== '--allow-breaking') {
  console.error('breaking schema changes: say why in the commit message with "BREAKING-SCHEMA: <reason>"');
  process.exit(1);
}
