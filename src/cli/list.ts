/**
 * `pinlab list <topic>`: the catalogues a user picks names from.
 *
 * Extension point: each topic is an entry of LIST_TOPICS (or added with registerListTopic before
 * the CLI is created).
 */
import { ERA_ALIASES, ERAS } from '../mem/layout.js';
import { ERA_SPECS } from '../kernel/era/index.js';
import { EMBEDDED_SCENARIOS } from '../scenario/load.js';
import { FAULTS, nativeIn } from '../scenario/faults.js';
import { POLICIES, type Policy } from '../scenario/schema.js';
import { WRITEBACK_POLICIES } from '../coordinator/policies/index.js';
import type { Era } from '../mem/layout.js';

export interface ListTopic {
  description: string;
  /** [name, one-line description] */
  rows(): Array<[string, string]>;
}

/** A policy's line: what writeback does, what kernel did it, what reclaim does, and where it runs clean. */
function policyText(p: Policy): string {
  const pol = WRITEBACK_POLICIES[p];
  const clean = ERAS.filter((e) => pol.safeOn(ERA_SPECS[e], false));
  const where = clean.length === ERAS.length ? 'clean in every era' : clean.length === 0 ? 'unsafe' : `clean on ${clean.join(', ')}`;
  return `${pol.summary}. Kernel: ${pol.history}. Reclaim: ${pol.reclaim} [${where}]`;
}

/** An era's line: what it is, which tree, and the catalogue bugs that are its native code. */
function eraText(e: Era): string {
  const spec = ERA_SPECS[e];
  const aliases = Object.entries(ERA_ALIASES).filter(([, real]) => real === e).map(([old]) => old);
  return `${spec.title}; follows ${spec.tree}` +
    (spec.native.length ? `; native bugs: ${spec.native.join(', ')}` : '; no native catalogue bug') +
    (aliases.length ? ` (also: ${aliases.join(', ')})` : '');
}

export const LIST_TOPICS: Record<string, ListTopic> = {
  scenarios: {
    description: 'embedded scenarios (pinlab run <name>)',
    rows: () => Object.entries(EMBEDDED_SCENARIOS).map(([name, s]) => [name, s.description]),
  },
  policies: {
    description: 'writeback policies for a pinned page (--policy)',
    rows: () =>
      POLICIES.map((p) => [p, policyText(p)]),
  },
  eras: {
    description: 'kernels, each one tree or posting (--era)',
    rows: () => ERAS.map((e) => [e, eraText(e)]),
  },
  faults: {
    description: 'the fault catalogue: historical bugs as switches in the real protocol code (--fault)',
    rows: () =>
      FAULTS.map((f) => {
        const native = nativeIn(f.name);
        return [f.name, `[${f.oracle}${f.race ? ', race' : ''}] ${f.story} (${f.reference})${native.length ? ` — native in ${native.join(', ')}` : ''}`];
      }),
  },
};

export function registerListTopic(name: string, topic: ListTopic): void {
  LIST_TOPICS[name] = topic;
}

export function formatList(topic: string): string {
  const t = LIST_TOPICS[topic];
  if (!t) throw new Error(`unknown list topic '${topic}'`);
  const rows = t.rows();
  const w = Math.max(0, ...rows.map(([n]) => n.length));
  return `${topic}: ${t.description}\n` + rows.map(([n, d]) => `  ${n.padEnd(w)}  ${d}`.trimEnd()).join('\n') + '\n';
}
