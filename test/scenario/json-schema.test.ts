// The scenario JSON Schema generated from zod: the same fields as the zod schema, strict, with the
// custom client kind; the shipped example scenario uses only what it declares.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { scenarioJsonSchema } from '../../src/scenario/json-schema.js';
import { ClientSchema, ScenarioSchema, parseScenario } from '../../src/scenario/schema.js';

type Obj = { properties?: Record<string, Obj>; items?: Obj; enum?: unknown[]; required?: string[]; additionalProperties?: unknown; description?: string };

/** Every key of `value` is declared by `schema` (recursively through objects and arrays). */
function undeclared(value: unknown, schema: Obj, path = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => (schema.items ? undeclared(v, schema.items, `${path}.${i}`) : []));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => {
    const p = schema.properties?.[k];
    return p === undefined ? [`${path}.${k}`] : undeclared(v, p, `${path}.${k}`);
  });
}

describe('scenario JSON Schema', () => {
  const schema = scenarioJsonSchema() as Obj;

  it('declares the zod schema fields, plus $schema, strictly, with only clients required', () => {
    expect(Object.keys(schema.properties!).sort()).toEqual(['$schema', ...Object.keys(ScenarioSchema.shape)].sort());
    expect(schema.required).toEqual(['clients']);
    expect(schema.additionalProperties).toBe(false);
    const client = schema.properties!['clients']!.items!;
    expect(Object.keys(client.properties!).sort()).toEqual(Object.keys(ClientSchema.shape).sort());
    expect(client.properties!['kind']!.enum).toEqual(['dio', 'rdma', 'odp', 'get', 'fork', 'buffered', 'custom']);
    expect(client.properties!['pages']!.description).toBe("pages in the client's region");
  });

  it('the example scenario uses only declared fields and parses', () => {
    const example = JSON.parse(readFileSync(new URL('../../examples/uring.scenario.json', import.meta.url), 'utf8')) as Record<string, unknown>;
    expect(example['$schema']).toBe('../dist/scenario.schema.json');
    expect(undeclared(example, schema)).toEqual([]);
    expect(undeclared({ clients: [{ kind: 'dio', colour: 'red' }] }, schema)).toEqual(['.clients.0.colour']);
    const { $schema: _s, ...rest } = example;
    expect(parseScenario(rest).clients[0]!.kind).toBe('custom');
  });
});
