// Build step (npm run build, prepack): write dist/scenario.schema.json from the zod schema.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scenarioJsonSchema } from '../src/scenario/json-schema.js';

// dist/scripts/build-schema.js -> dist/scenario.schema.json (under tsx: scripts/ -> dist/).
const here = dirname(fileURLToPath(import.meta.url));
const out = here.endsWith(join('dist', 'scripts')) ? join(here, '..', 'scenario.schema.json') : join(here, '..', 'dist', 'scenario.schema.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(scenarioJsonSchema(), null, 2) + '\n');
process.stdout.write(`wrote ${out}\n`);
