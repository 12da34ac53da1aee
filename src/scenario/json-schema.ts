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

/** The JSON Schema (draft 2020-12) of a scenario file, as a plain object. */
export function scenarioJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(ScenarioSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  const properties = (schema['properties'] ?? {}) as Record<string, unknown>;
  return {
    ...schema,
    $id: 'https://pinlab.invalid/scenario.schema.json',
    title: 'pinlab scenario',
    description: 'A pinlab scenario: clients, mm operations, machine, era, policy, faults (pinlab run / pinlab explore).',
    // The schema is strict (additionalProperties false); a file may name its own schema.
    properties: { $schema: { type: 'string', description: 'this schema, for editors' }, ...properties },
  };
}
