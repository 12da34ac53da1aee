/**
 * Scenarios: what runs (clients, mm operations, machine), for how long, under which era, policy,
 * delay injection and faults. Validated with zod; every error names the field and what it expects.
 */
import { z } from 'zod';
import { computeLayout, ERAS } from '../mem/layout.js';
import { machineConfigOf } from './machine.js';
import { FAULT_NAMES } from './faults.js';

export const POLICIES = ['ignore', 'skip', 'bounce', 'wait', 'revoke', 'refuse-longterm'] as const;
export type Policy = (typeof POLICIES)[number];
/** Policies under which the model must run clean (everything but the pre-2019 `ignore`). */
export const SAFE_POLICIES = ['skip', 'bounce', 'wait', 'revoke', 'refuse-longterm'] as const satisfies readonly Policy[];
export const DELAYS = ['off', 'light', 'heavy'] as const;
export const CLIENT_KINDS = ['dio', 'rdma', 'odp', 'get'] as const;
export type ClientKind = (typeof CLIENT_KINDS)[number];
export const MAPPINGS = ['anon', 'file', 'cma', 'hugetlb'] as const;

const int = (min: number, max: number) => z.number().int().min(min).max(max);
/** Largest mm operation weight: weights are relative, and a huge one makes a single coordinator step take seconds. */
export const MAX_MM_WEIGHT = 1000;
const weight = () =>
  z.number().min(0).max(MAX_MM_WEIGHT, { message: `mm weights are relative frequencies: at most ${MAX_MM_WEIGHT}` });
/** Smallest watchdogMs: a shorter window cannot tell a stalled thread from one the OS did not run. */
export const MIN_WATCHDOG_MS = 500;

export const ClientSchema = z
  .object({
    kind: z.enum(CLIENT_KINDS),
    count: int(1, 16).default(1),
    /** What the client's buffer maps: file pages (shared page cache), anonymous, CMA, or hugetlb. */
    mapping: z.enum(MAPPINGS).default('file'),
    /** File id for mapping 'file'. */
    file: int(0, 1023).default(0),
    /** First file page of the region (mapping 'file'). */
    offset: int(0, 1 << 22).default(0),
    /** Pages in the client's region. */
    pages: int(1, 1 << 18).default(64),
    /** Pages per DIO request, or per RDMA memory region (up to a whole 1 GB hugetlb page). */
    bufferPages: int(1, 1 << 18).default(4),
    /** RDMA: operations a registration is held for before deregistering. */
    holdOps: int(1, 1 << 30).default(200),
    /** Fraction of DIO/ODP operations that write (DMA into memory) rather than read. */
    writeRatio: z.number().min(0).max(1).default(0.8),
    /** Use gup-fast (true) or the mmap_lock slow path (false). */
    fast: z.boolean().default(true),
    /** Process (mm id) the client runs in. */
    mm: int(0, 255).default(0),
    /** Mapping 'hugetlb': the huge page size, 2 MB (a PMD leaf) or 1 GB (a PUD leaf). */
    hugePage: z.enum(['2m', '1g']).default('2m'),
    /**
     * The `count` actors of this entry share one region (mapped once in `mm`) instead of one each:
     * several clients pinning the same pages (e.g. one 1 GB hugetlb page).
     */
    shared: z.boolean().default(false),
  })
  .strict();
export type ClientSpec = z.infer<typeof ClientSchema>;

export const MmOpsSchema = z
  .object({
    writeback: weight().default(4),
    munmap: weight().default(1),
    migrate: weight().default(2),
    reclaim: weight().default(2),
    truncate: weight().default(0.5),
    /** Pause between coordinator operations, microseconds. */
    intervalUs: int(0, 1_000_000).default(200),
    /** How long a page stays under writeback (the stable-pages window), microseconds. */
    writebackUs: int(0, 100_000).default(50),
    /** Policy wait: how long writeback waits for a pinned page to be unpinned, milliseconds. */
    waitTimeoutMs: int(0, 10_000).default(20),
  })
  .strict();

export const MachineSchema = z
  .object({
    normalFrames: int(64, 1 << 22).default(8192),
    movableFrames: int(0, 1 << 22).default(1024),
    daxFrames: int(0, 1 << 20).default(0),
    huge2mPages: int(0, 1024).default(2),
    huge1gPages: int(0, 8).default(0),
    wordsPerPage: int(1, 1024).default(16),
    nrFiles: int(1, 64).default(2),
    filePages: int(1, 1 << 20).default(256),
    nrMms: int(1, 64).default(2),
  })
  .strict();

export const ScenarioSchema = z
  .object({
    name: z.string().min(1).max(200).default('custom'),
    seed: int(0, 2 ** 31 - 1).default(1),
    durationMs: int(1, 24 * 3600 * 1000).default(10_000),
    era: z.enum(ERAS).default('v6.3'),
    policy: z.enum(POLICIES).default('skip'),
    delay: z.enum(DELAYS).default('off'),
    faults: z.array(z.string().max(100)).max(64).default([]),
    oracles: z.boolean().default(true),
    /** O5: an actor whose heartbeat does not move for this long, while the run goes on, is a stall. */
    watchdogMs: z
      .number()
      .int()
      .min(MIN_WATCHDOG_MS, { message: `watchdogMs must be at least ${MIN_WATCHDOG_MS}: a shorter window cannot tell a stalled thread from one the OS did not schedule` })
      .max(600_000)
      .default(5_000),
    machine: MachineSchema.default(MachineSchema.parse({})),
    clients: z.array(ClientSchema).min(1).max(64),
    mm: MmOpsSchema.default(MmOpsSchema.parse({})),
  })
  .strict()
  .superRefine((s, ctx) => {
    s.faults.forEach((f, i) => {
      if (!FAULT_NAMES.includes(f)) {
        ctx.addIssue({ code: 'custom', path: ['faults', i], message: `unknown fault '${f}': expected one of ${FAULT_NAMES.join(', ')}` });
      }
    });
    try {
      computeLayout(machineConfigOf(s)); // every field in range, but the whole may still be too big
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      ctx.addIssue({ code: 'custom', path: ['machine'], message: e.message.replace(/^machine config: /, '') });
    }
    const actors = s.clients.reduce((n, c) => n + c.count, 0);
    if (actors > s.machine.wordsPerPage) {
      ctx.addIssue({
        code: 'custom',
        path: ['clients'],
        message: `${actors} actors but machine.wordsPerPage is ${s.machine.wordsPerPage}: each actor needs its own data word per page (raise machine.wordsPerPage)`,
      });
    }
    s.clients.forEach((c, i) => {
      if (c.mapping === 'file' && c.offset + c.pages > s.machine.filePages) {
        ctx.addIssue({ code: 'custom', path: ['clients', i, 'pages'], message: `offset + pages (${c.offset + c.pages}) exceeds machine.filePages (${s.machine.filePages})` });
      }
      if (c.mapping === 'file' && c.file >= s.machine.nrFiles) {
        ctx.addIssue({ code: 'custom', path: ['clients', i, 'file'], message: `file ${c.file} but machine.nrFiles is ${s.machine.nrFiles}` });
      }
      if (c.mm >= s.machine.nrMms) {
        ctx.addIssue({ code: 'custom', path: ['clients', i, 'mm'], message: `mm ${c.mm} but machine.nrMms is ${s.machine.nrMms}` });
      }
      if (c.bufferPages > c.pages) {
        ctx.addIssue({ code: 'custom', path: ['clients', i, 'bufferPages'], message: `bufferPages (${c.bufferPages}) exceeds the region's pages (${c.pages})` });
      }
      if (c.kind === 'odp' && c.mapping === 'hugetlb') {
        ctx.addIssue({
          code: 'custom', path: ['clients', i, 'mapping'],
          message: 'an ODP client cannot use a hugetlb mapping: the model\'s ODP walk reads the PTE level only, so it would never make an access (use file, anon or cma)',
        });
      }
      const regions = c.shared ? 1 : c.count;
      if (c.mapping === 'cma' && s.machine.movableFrames < c.pages) {
        ctx.addIssue({ code: 'custom', path: ['clients', i, 'mapping'], message: `a cma region of ${c.pages} pages needs machine.movableFrames >= ${c.pages}, got ${s.machine.movableFrames}` });
      }
      if (c.mapping === 'hugetlb') {
        const need = Math.ceil((regions * c.pages) / (c.hugePage === '1g' ? 1 << 18 : 512));
        const have = c.hugePage === '1g' ? s.machine.huge1gPages : s.machine.huge2mPages;
        if (need > have) {
          ctx.addIssue({
            code: 'custom', path: ['clients', i, 'pages'],
            message: `${regions} hugetlb region(s) of ${c.pages} pages need ${need} ${c.hugePage === '1g' ? '1 GB' : '2 MB'} pages, but machine.${c.hugePage === '1g' ? 'huge1gPages' : 'huge2mPages'} is ${have}`,
          });
        }
      }
      const huge = c.hugePage === '1g' ? 1 << 18 : 512;
      if (c.mapping === 'hugetlb' && c.pages % huge !== 0) {
        ctx.addIssue({ code: 'custom', path: ['clients', i, 'pages'], message: `a hugetlb region of ${c.hugePage === '1g' ? '1 GB' : '2 MB'} pages must be a multiple of ${huge} pages, got ${c.pages}` });
      }
    });
  });
export type Scenario = z.infer<typeof ScenarioSchema>;
export type ScenarioInput = z.input<typeof ScenarioSchema>;

/** A scenario module's default export: `export default defineScenario({...})`. */
export function defineScenario(input: ScenarioInput): ScenarioInput {
  return input;
}

export class ScenarioError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid scenario:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'ScenarioError';
  }
}

/** Validate a scenario; throws ScenarioError whose lines name each bad field and what it expects. */
export function parseScenario(input: unknown): Scenario {
  const r = ScenarioSchema.safeParse(input);
  if (r.success) return r.data;
  throw new ScenarioError(
    r.error.issues.map((iss) => `${iss.path.length ? iss.path.join('.') : '(scenario)'}: ${iss.message}`),
  );
}

/** The embedded default: DIO, RDMA, ODP and GET clients against writeback (skip), munmap, migration and reclaim. */
export const DEFAULT_SCENARIO: ScenarioInput = {
  name: 'default',
  seed: 1,
  durationMs: 10_000,
  era: 'v6.3',
  policy: 'skip',
  delay: 'off',
  clients: [
    { kind: 'dio', count: 2, mapping: 'file', file: 0, offset: 0, pages: 64, bufferPages: 4 },
    { kind: 'rdma', count: 1, mapping: 'file', file: 0, offset: 32, pages: 64, bufferPages: 16, holdOps: 300 },
    { kind: 'odp', count: 1, mapping: 'file', file: 1, offset: 0, pages: 64, bufferPages: 4 },
    { kind: 'get', count: 1, mapping: 'file', file: 0, offset: 0, pages: 96, bufferPages: 8 },
    { kind: 'dio', count: 1, mapping: 'anon', pages: 64, bufferPages: 8 },
  ],
  mm: { writeback: 4, munmap: 1, migrate: 2, reclaim: 2, truncate: 0.5 },
};
