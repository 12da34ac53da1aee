/** Parsers for `pinlab run` option values (commander argParsers: a bad value is a usage error, exit 2). */
import { InvalidArgumentError } from 'commander';
import { CLIENT_KINDS, type ClientKind } from '../scenario/schema.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * "500ms", "10s", "1.5s", "2m", "1h" → milliseconds. A bare number is refused: `--duration 5` read
 * as 5 ms made a run that proved nothing, read as 5 s it would surprise the other half of users.
 */
export function parseDuration(value: string): number {
  const bare = /^\s*(\d+(?:\.\d+)?)\s*$/.exec(value);
  if (bare) throw new InvalidArgumentError(`a bare number is ambiguous: write the unit, e.g. ${bare[1]}s or ${bare[1]}ms.`);
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/i.exec(value);
  if (!m) throw new InvalidArgumentError('expected a number with a unit: 500ms, 10s, 2m, 1h.');
  return Math.round(Number(m[1]) * UNIT_MS[m[2]!.toLowerCase()]!);
}

/** A decimal integer (range checks are left to the scenario schema, which names the field). */
export function parseInteger(value: string): number {
  if (!/^\s*-?\d+\s*$/.test(value)) throw new InvalidArgumentError('expected an integer.');
  return Number(value);
}

/** "dio=2,rdma=1,odp=0" → { dio: 2, rdma: 1, odp: 0 }; merged with earlier --clients options. */
export function parseClients(value: string, previous?: Partial<Record<ClientKind, number>>): Partial<Record<ClientKind, number>> {
  const out: Partial<Record<ClientKind, number>> = { ...previous };
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new InvalidArgumentError('expected kind=count pairs, e.g. dio=2,rdma=1,odp=1,get=1.');
  for (const item of items) {
    const m = /^([a-z]+)\s*=\s*(\d+)$/i.exec(item);
    if (!m) throw new InvalidArgumentError(`'${item}' is not kind=count (e.g. dio=2).`);
    const kind = m[1]!.toLowerCase();
    if (!(CLIENT_KINDS as readonly string[]).includes(kind)) {
      throw new InvalidArgumentError(`unknown client kind '${m[1]}', expected one of ${CLIENT_KINDS.join(', ')}.`);
    }
    out[kind as ClientKind] = Number(m[2]);
  }
  return out;
}

/** Repeatable string option. */
export function collect(value: string, previous?: string[]): string[] {
  return [...(previous ?? []), value];
}
