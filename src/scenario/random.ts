/**
 * Seeded random valid scenarios for fuzzing and soaking the fault-free model: one to four client
 * entries of the four kinds over file, anonymous, CMA and (for DIO) 2 MB hugetlb mappings, random
 * sizes, operation mixes and mm weights, always within the schema and always able to do work
 * (no client on a mapping or policy where it can take nothing: RDMA stays off file mappings on an
 * era that refuses writable longterm file pins, v6.18; ODP stays on file and anonymous mappings).
 * The era's native bugs are switched off (they are expected to fire: test/faults/native.test.ts),
 * and `mainline` is drawn only on eras whose reclaim keeps pinned pages (v6.3 on).
 */
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { type Era, ERAS } from '../mem/layout.js';
import { ERA_SPECS } from '../kernel/era/index.js';
import { DELAYS, SAFE_POLICIES, type ClientKind, type Policy, type ScenarioInput } from './schema.js';

/** The kinds the fuzzer draws (fork and buffered clients have their own scenarios and tests). */
const CLIENT_KINDS: readonly ClientKind[] = ['dio', 'rdma', 'odp', 'get'];

export interface RandomScenarioOptions {
  era?: Era;
  policy?: Policy;
  delay?: (typeof DELAYS)[number];
  durationMs?: number;
}

/** The scenario of `seed` (a pure function of its arguments). */
export function randomScenario(seed: number, o: RandomScenarioOptions = {}): ScenarioInput {
  const rng = xoroshiro128plus(seed | 0);
  const int = (lo: number, hi: number): number => uniformInt(rng, lo, hi);
  const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)]!;
  const era = o.era ?? pick(ERAS);
  const spec = ERA_SPECS[era];
  const policy = o.policy ?? pick(spec.reclaimKeepsPinned ? ['mainline' as const, ...SAFE_POLICIES] : SAFE_POLICIES);
  const filePages = 512;
  const entries = int(1, 4);
  const clients: NonNullable<ScenarioInput['clients']> = [];
  let hugetlb = 0;
  for (let e = 0; e < entries; e++) {
    const kind: ClientKind = e < CLIENT_KINDS.length && int(0, 1) === 0 ? CLIENT_KINDS[e]! : pick(CLIENT_KINDS);
    const mappings: Array<'file' | 'anon' | 'cma' | 'hugetlb'> =
      kind === 'odp' ? ['file', 'anon'] : kind === 'rdma' && spec.refuseLongtermFile ? ['anon', 'cma'] : kind === 'dio' ? ['file', 'file', 'anon', 'cma', 'hugetlb'] : ['file', 'anon', 'cma'];
    let mapping = pick(mappings);
    if (mapping === 'hugetlb' && hugetlb >= 1) mapping = 'file';
    const count = int(1, 2);
    const pages = mapping === 'hugetlb' ? 512 : pick([8, 16, 32, 64, 128]);
    if (mapping === 'hugetlb') hugetlb += count;
    clients.push({
      kind, count, mapping, pages,
      bufferPages: Math.min(pages, pick([1, 2, 4, 8, 16])),
      ...(mapping === 'file' ? { file: int(0, 1), offset: int(0, filePages - pages) } : {}),
      writeRatio: pick([0, 0.5, 0.8, 1]),
      fast: int(0, 3) !== 0,
      ...(kind === 'rdma' ? { holdOps: pick([5, 50, 300]) } : {}),
    });
  }
  return {
    name: `random-${seed}`, seed: seed >>> 1, durationMs: o.durationMs ?? 1000,
    era, nativeBugs: spec.native.length === 0, policy, delay: o.delay ?? 'off',
    machine: { filePages, huge2mPages: Math.max(2, hugetlb) },
    clients,
    mm: { writeback: int(1, 6), munmap: int(0, 3), migrate: int(0, 3), reclaim: int(0, 3), truncate: pick([0, 0, 0.5, 1]) },
  };
}
