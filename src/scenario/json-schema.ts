/**
 * The scenario JSON Schema, generated from the zod schema (z.toJSONSchema, input side: fields with
 * defaults are optional). Shipped as `pinlab/scenario.schema.json` (dist/scenario.schema.json) so a
 * scenario file's `"$schema"` gives editors completion and checking; `pinlab schema` prints it.
 * Cross-field rules (a custom client needs a module, regions fit the machine) are checked by
 * pinlab only.
 */
import { z } from 'zod';
import { ScenarioSchema } from './schema.js';

/** Where a scenario file in a project that installed pinlab points its `$schema`. */
export const SCENARIO_SCHEMA_REF = './node_modules/pinlab/dist/scenario.schema.json';

/** Editor hover text for the fields (the zod schema's TSDoc, which z.toJSONSchema cannot see). */
const DESCRIPTIONS: Record<string, string> = {
  name: 'scenario name (reports, schedule file names)',
  seed: 'run seed: every random choice derives from it',
  durationMs: 'stress-mode run time, ms',
  era: 'pin-accounting era: the kernel tree whose code the model runs',
  policy: 'what writeback does with a page that reads dma-pinned',
  delay: 'stress mode: seeded delay injection at shared accesses',
  faults: 'faults of the fault catalogue to inject (pinlab list faults)',
  oracles: 'run the oracles (O1-O6)',
  watchdogMs: 'O5: an actor whose heartbeat stands still this long is a stall',
  machine: 'the machine: frames per zone, words per page, files, mms',
  clients: 'the GUP users: built-in kinds or custom defineClient modules',
  mm: "the coordinator's mm operations: weights and timings",
  'clients.count': 'actors of this entry',
  'clients.mapping': "what the client's region maps",
  'clients.file': "file id (mapping 'file')",
  'clients.offset': "first file page of the region (mapping 'file')",
  'clients.pages': "pages in the client's region",
  'clients.bufferPages': 'pages per request (DIO) or per memory region (RDMA, custom clients)',
  'clients.holdOps': 'operations a registration is held for',
  'clients.writeRatio': 'fraction of operations that write',
  'clients.fast': 'gup-fast (true) or the mmap_lock slow path',
  'clients.mm': 'process (mm id) the client runs in',
  'clients.hugePage': "mapping 'hugetlb': 2 MB or 1 GB pages",
  'clients.shared': "the entry's actors share one region",
  'clients.name': "actor name prefix (default: the kind, or the custom client's name)",
  'clients.params': 'settings handed to a custom client as ctx.params',
};

function describe(props: Record<string, Record<string, unknown>>, prefix: string): void {
  for (const [key, prop] of Object.entries(props)) {
    const text = DESCRIPTIONS[prefix + key];
    if (text !== undefined && prop['description'] === undefined) prop['description'] = text;
  }
}

/** The JSON Schema (draft 2020-12) of a scenario file, as a plain object. */
export function scenarioJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(ScenarioSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  const properties = (schema['properties'] ?? {}) as Record<string, Record<string, unknown>>;
  describe(properties, '');
  const client = (properties['clients']?.['items'] ?? {}) as { properties?: Record<string, Record<string, unknown>> };
  if (client.properties !== undefined) describe(client.properties, 'clients.');
  return {
    ...schema,
    $id: 'https://pinlab.invalid/scenario.schema.json',
    title: 'pinlab scenario',
    description: 'A pinlab scenario: clients, mm operations, machine, era, policy, faults (pinlab run / pinlab explore).',
    // The schema is strict (additionalProperties false); a file may name its own schema.
    properties: { $schema: { type: 'string', description: 'this schema, for editors' }, ...properties },
  };
}
