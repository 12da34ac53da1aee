/**
 * Scenarios: what runs (clients, mm operations, machine), for how long, under which era, policy,
 * delay injection and faults. Validated with zod; every error names the field and what it expects.
 */
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { computeLayout, ERA_ALIASES, ERAS } from '../mem/layout.js';
import { CURRENT_ERA } from '../kernel/era/index.js';
import { machineConfigOf } from './machine.js';
import { FAULT_NAMES } from './faults.js';

/**
 * Writeback policies for a pinned page (src/coordinator/policies/): `mainline`, what the kernel
 * does (the default), and the research policies.
 */
export const POLICIES = ['mainline', 'skip', 'bounce', 'wait', 'revoke', 'ignore', 'kara-2023', 'unevictable', 'dio-bounce'] as const;
export type Policy = (typeof POLICIES)[number];
/**
 * The research policies that keep a pinned page stable and off reclaim in every era: the
 * fault-free model runs clean under each on every era. (`mainline` is clean where the era keeps
 * pinned pages from reclaim, v6.3 on: policies/index.ts safePolicies.)
 */
export const SAFE_POLICIES = ['skip', 'bounce', 'wait', 'revoke', 'kara-2023', 'unevictable'] as const satisfies readonly Policy[];
/** Policies that no longer exist, and what replaced them (a one-line error names it). */
export const REMOVED_POLICIES: Readonly<Record<string, string>> = {
  'refuse-longterm':
    "'refuse-longterm' was removed: refusing writable longterm pins of file mappings is the kernel's own behaviour from v6.5, use --era v6.18 --policy mainline",
};
/** Delay injection levels of stress mode (`--delay`): seeded spins at shared accesses, none by default. */
export const DELAYS = ['off', 'light', 'heavy'] as const;
/** The built-in clients. */
export const CLIENT_KINDS = ['dio', 'rdma', 'odp', 'get', 'fork', 'buffered'] as const;
export type ClientKind = (typeof CLIENT_KINDS)[number];
/** A client entry's kind: a built-in, or `custom` (a defineClient module named by `module`). */
export const ENTRY_KINDS = [...CLIENT_KINDS, 'custom'] as const;
export type EntryKind = (typeof ENTRY_KINDS)[number];
/** What a client's region maps: file pages (shared page cache, the default), anonymous memory, CMA (ZONE_MOVABLE) or hugetlb pages. */
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
    kind: z.enum(ENTRY_KINDS).describe("a built-in client (dio, rdma, odp, get, fork, buffered) or 'custom' (a defineClient module)"),
    /**
     * kind 'custom': the client module (.ts/.js), a path relative to the scenario file (or, for a
     * scenario object passed to runScenario/explore, to the working directory), or a file: URL.
     */
    module: z.string().min(1).optional().describe("kind 'custom': path of the module whose default export is defineClient({...})"),
    /** Actor name prefix (actors are named `<name>#<i>`). Default: the kind, or the custom client's own name. */
    name: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,31}$/, 'expected 1-32 letters, digits, _ or - starting with a letter').optional(),
    /** Free-form settings handed to a custom client as ctx.params. */
    params: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])).default({}),
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
    /**
     * RDMA: the application writes its buffer before the first registration (memset, then
     * ibv_reg_mr), so the pages are already mapped when the longterm pin comes and gup-fast sees them.
     */
    prefault: z.boolean().default(false),
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
    /**
     * The backing device needs stable pages during writeback (BDI_CAP_STABLE_WRITES /
     * SB_I_STABLE_WRITES: checksums, DIF/DIX, RAID parity). Then a page that changes under
     * writeback is an O3 violation under every policy; without it, mainline and ignore may write
     * a page DMA is changing (folio_wait_stable() waits only on such devices), and those events
     * are only counted (mm `io:unstable`).
     */
    stableWrites: z.boolean().default(false),
  })
  .strict();

export const ScenarioSchema = z
  .object({
    name: z.string().min(1).max(200).default('custom'),
    seed: int(0, 2 ** 31 - 1).default(1),
    durationMs: int(1, 24 * 3600 * 1000).default(10_000),
    // Old era names still load (seed-2019 is rfc-2019).
    era: z.preprocess((v) => (typeof v === 'string' ? (ERA_ALIASES[v] ?? v) : v), z.enum(ERAS)).default(CURRENT_ERA),
    policy: z
      .enum(POLICIES, { error: (iss) => (typeof iss.input === 'string' ? REMOVED_POLICIES[iss.input] : undefined) })
      .default('mainline'),
    /**
     * The era's native bugs (EraSpec.native, `pinlab list eras`) are on (the era is its tree,
     * bugs included); false runs the era with them fixed, a what-if no release was.
     */
    nativeBugs: z.boolean().default(true),
    delay: z.enum(DELAYS).default('off'),
    faults: z.array(z.string().max(100)).max(64).default([]),
    oracles: z.boolean().default(true),
    /**
     * Contract oracles, checked where the protocol breaks rather than where damage shows: every
     * page a pin call returned reads page_maybe_dma_pinned() (O6 not-dma-pinned); gup-fast and a
     * page_mkclean() that asks about pins never both miss each other (O6 sb-contract, the
     * store-buffering pair); a DMA write through a pin of a file page lands in the page cache's
     * page, unless a truncate since the pin explains it (O6 dma-stale-frame). Unset: on in explore
     * mode (they add no scheduling point, and a contract broken without visible damage is still a
     * bug), off in stress mode (the GUP half turns off the specialised gup-fast loop, which stress
     * throughput depends on). true/false: that, in both modes.
     */
    contractOracles: z.boolean().optional(),
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
      if (c.kind === 'custom' && c.module === undefined) {
        ctx.addIssue({ code: 'custom', path: ['clients', i, 'module'], message: "kind 'custom' needs module: the path of a defineClient module" });
      }
      if (c.kind !== 'custom' && c.module !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['clients', i, 'module'], message: `module is only for kind 'custom' (this entry is '${c.kind}')` });
      }
      if (c.kind === 'fork' && c.mapping !== 'anon') {
        ctx.addIssue({ code: 'custom', path: ['clients', i, 'mapping'], message: `a fork client forks anonymous memory: expected mapping 'anon', got '${c.mapping}'` });
      }
      if (c.kind === 'buffered' && c.mapping !== 'file') {
        ctx.addIssue({ code: 'custom', path: ['clients', i, 'mapping'], message: `a buffered client reads and writes file pages: expected mapping 'file', got '${c.mapping}'` });
      }
      if (c.kind === 'fork' && s.machine.nrMms < 2) {
        ctx.addIssue({ code: 'custom', path: ['machine', 'nrMms'], message: 'a fork client needs a second mm for its child: expected machine.nrMms >= 2' });
      }
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

/** A client module path as a scenario writes it (relative, absolute, or a file: URL) made absolute against `baseDir`. */
export function absoluteModulePath(module: string, baseDir: string): string {
  if (module.startsWith('file:')) return fileURLToPath(module);
  return isAbsolute(module) ? module : resolve(baseDir, module);
}

/** The scenario with every custom client's `module` made absolute against `baseDir` (the scenario file's directory). */
export function withModulePathsFrom(s: Scenario, baseDir: string): Scenario {
  if (!s.clients.some((c) => c.module !== undefined)) return s;
  return { ...s, clients: s.clients.map((c) => (c.module === undefined ? c : { ...c, module: absoluteModulePath(c.module, baseDir) })) };
}

/** A scenario (or its file, or a custom client module) is bad input; `issues` holds one line per problem, each naming the field. */
export class ScenarioError extends Error {
  constructor(readonly issues: string[]) {
    // One issue stays on one line (e.g. a removed policy and what to use instead).
    super(issues.length === 1 ? `invalid scenario: ${issues[0]}` : `invalid scenario:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
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

/**
 * The embedded default: the current kernel (v6.18) as it is, with mainline writeback: DIO, RDMA,
 * ODP and GET clients against writeback, munmap, migration, reclaim and truncate. The RDMA client
 * registers anonymous memory: v6.18 refuses a writable longterm pin of a file mapping (-EFAULT).
 */
export const DEFAULT_SCENARIO: ScenarioInput = {
  name: 'default',
  seed: 1,
  durationMs: 10_000,
  era: 'v6.18',
  policy: 'mainline',
  delay: 'off',
  clients: [
    { kind: 'dio', count: 2, mapping: 'file', file: 0, offset: 0, pages: 64, bufferPages: 4 },
    { kind: 'rdma', count: 1, mapping: 'anon', pages: 64, bufferPages: 16, holdOps: 300 },
    { kind: 'odp', count: 1, mapping: 'file', file: 1, offset: 0, pages: 64, bufferPages: 4 },
    { kind: 'get', count: 1, mapping: 'file', file: 0, offset: 0, pages: 96, bufferPages: 8 },
    { kind: 'dio', count: 1, mapping: 'anon', pages: 64, bufferPages: 8 },
  ],
  mm: { writeback: 4, munmap: 1, migrate: 2, reclaim: 2, truncate: 0.5 },
};

/**
 * The embedded `fork-buffered`: the current kernel with a process that forks (the cow.c cases)
 * while DIO and RDMA pin its anonymous memory — early COW and write_protect_seq at work — and
 * buffered read(2)/write(2) through the lockless page cache on a file DIO also pins, against
 * writeback, migration, reclaim, truncate and munmap. No GET client (a FOLL_GET reference taken
 * before fork is not protected by early COW, in the kernel either) and no ODP client (the model's
 * fork notifies only its own thread's mmu notifiers).
 */
export const FORK_BUFFERED_SCENARIO: ScenarioInput = {
  name: 'fork-buffered',
  seed: 1,
  durationMs: 10_000,
  era: 'v6.18',
  policy: 'mainline',
  delay: 'off',
  machine: { nrMms: 2 },
  clients: [
    { kind: 'fork', count: 1, mapping: 'anon', pages: 16, bufferPages: 1, mm: 0 },
    { kind: 'dio', count: 1, mapping: 'anon', pages: 16, bufferPages: 2, mm: 0 },
    { kind: 'rdma', count: 1, mapping: 'anon', pages: 16, bufferPages: 4, holdOps: 200, mm: 0 },
    { kind: 'buffered', count: 2, mapping: 'file', file: 0, offset: 0, pages: 32, bufferPages: 1, writeRatio: 0.5, mm: 0 },
    { kind: 'dio', count: 1, mapping: 'file', file: 0, offset: 0, pages: 32, bufferPages: 2, mm: 0 },
  ],
  mm: { writeback: 4, munmap: 1, migrate: 2, reclaim: 2, truncate: 0.5 },
};
