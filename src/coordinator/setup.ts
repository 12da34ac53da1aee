/**
 * The pieces of a run that stress mode (runScenario) and explore mode share: planning the machine
 * and the actors' regions, setting the coordinator up on whichever thread plays it, releasing a
 * failed actor's pins, and the end-of-run oracles with teardown.
 */
import { PMD_ORDER, PUD_ORDER } from '../mem/layout.js';
import { machineConfigOf } from '../scenario/machine.js';
import { boot } from '../kernel/boot.js';
import { KernelBug, type KernelContext, readVmstat, readWarnings } from '../kernel/context.js';
import { do_mmap, mm_of, PAGE_SIZE, vmas } from '../kernel/mm.js';
import { do_munmap } from '../kernel/mmap.js';
import { truncate_inode_pages_range } from '../kernel/truncate.js';
import { unpin_user_page } from '../kernel/gup.js';
import { compound_head } from '../kernel/page.js';
import { OdpNotifier } from '../clients/odp.js';
import { type ActorInit, type ActorSpec } from '../clients/types.js';
import { GHOST_UNPIN, Lab, type LabConfig } from '../oracle/lab.js';
import { checkConservation, checkLostWrites, checkNoLeaks } from '../oracle/final.js';
import { installPinCheckOracle, type PinCheckOracle } from '../oracle/o1.js';
import { SbContract } from '../oracle/sb-contract.js';
import { ScenarioError, type Scenario } from '../scenario/schema.js';
import { MmOps, type MmOpsOptions } from './mmops.js';
import { clientModuleInfo } from './client-modules.js';

/** Everything planned on the main thread; plain data, so it crosses to worker threads. */
export interface RunPlan {
  scenario: Scenario;
  specs: ActorSpec[];
  labConfig: LabConfig;
  /** The coordinator's lab actor block (its event ring): the last one. */
  coordActor: number;
  init: ActorInit;
}

/** Expand client entries into actors and map each actor's region in its mm. */
function planActors(s: Scenario): ActorSpec[] {
  const specs: ActorSpec[] = [];
  const perKind = new Map<string, number>();
  for (const c of s.clients) {
    let sharedAddr = -1; // c.shared: the region every actor of this entry uses
    for (let j = 0; j < c.count; j++) {
      const prefix = c.name ?? c.kind;
      const n = perKind.get(prefix) ?? 0;
      perKind.set(prefix, n + 1);
      const actor = specs.length;
      const addr = sharedAddr >= 0 ? sharedAddr : do_mmap(mm_of(c.mm), {
        length: c.pages * PAGE_SIZE,
        kind: c.mapping,
        file: c.file,
        offset: c.offset * PAGE_SIZE,
        ...(c.mapping === 'hugetlb' ? { order: c.hugePage === '1g' ? PUD_ORDER : PMD_ORDER } : {}),
      });
      if (c.shared && addr >= 0) sharedAddr = addr;
      if (addr < 0) throw new Error(`cannot map the region of ${c.kind}#${n} (${c.pages} pages of ${c.mapping}): ${addr}`);
      specs.push({
        actor, cpu: actor + 1, name: `${prefix}#${n}`, kind: c.kind, mm: c.mm, addr, pages: c.pages,
        ...(c.module !== undefined ? { module: c.module, revocable: clientModuleInfo(c.module)?.revocable === true } : {}), params: c.params,
        mapping: c.mapping, file: c.file, offset: c.offset, bufferPages: c.bufferPages, holdOps: c.holdOps, prefault: c.prefault,
        writeRatio: c.writeRatio, fast: c.fast, dataWord: actor % s.machine.wordsPerPage,
      });
    }
  }
  return specs;
}

/**
 * Boot the machine (this thread becomes cpu 0, the coordinator's), map every actor's region,
 * create the lab. Returns the kernel context, the lab and the plan.
 */
export function prepareRun(s: Scenario): { k: KernelContext; lab: Lab; plan: RunPlan } {
  const nrActors = s.clients.reduce((n, c) => n + c.count, 0);
  // The era is its tree: its native bugs (unless nativeBugs is false) and its v6.5 refusal of
  // writable longterm file pins (EraSpec.refuseLongtermFile) come with it.
  let k: KernelContext;
  try {
    k = boot(machineConfigOf(s), { era: s.era, cpu: 0, faults: s.faults, nativeBugs: s.nativeBugs });
  } catch (e) {
    // Every machine field in range, but together too big (the 8 GiB SAB limit, the pfn field): bad input.
    if (e instanceof RangeError && e.message.startsWith('machine config')) throw new ScenarioError([`machine: ${e.message.replace(/^machine config: /, '')}`]);
    throw e;
  }
  const specs = planActors(s);
  const labConfig: LabConfig = {
    nrActors: nrActors + 1,
    ledgerSlots: Math.max(64, 4 * Math.max(...s.clients.map((c) => c.bufferPages))),
    ringEntries: 64,
    totalFrames: k.layout.totalFrames,
    nrFiles: s.machine.nrFiles,
    filePages: s.machine.filePages,
    odpPages: Math.max(1, ...s.clients.filter((c) => c.kind === 'odp').map((c) => c.pages)),
    nrMms: s.machine.nrMms,
    vaPages: k.layout.vaPages,
    ...(s.oracles && s.contractOracles ? { contractFrames: true } : {}),
  };
  const lab = Lab.create(labConfig);
  const init: ActorInit = {
    machineSab: k.mem.sab, machineConfig: k.layout.config, era: s.era, faults: s.faults, labSab: lab.sab, labConfig,
    delay: s.delay, policy: s.policy, oracles: s.oracles, seed: s.seed, nativeBugs: s.nativeBugs,
    ...(s.contractOracles ? { contractOracles: true } : {}),
  };
  return { k, lab, plan: { scenario: s, specs, labConfig, coordActor: nrActors, init } };
}

export interface Coordinator {
  odp: OdpNotifier;
  o1: PinCheckOracle | null;
  mmops: MmOps;
}

/**
 * Set the coordinator up on the thread of `k` (the invalidating thread runs the ODP callbacks).
 * `clock` replaces MmOps' wall clock and sleep (explore mode passes its logical clock).
 */
export function setupCoordinator(
  k: KernelContext, lab: Lab, plan: RunPlan, clock: Pick<MmOpsOptions, 'now' | 'sleep'> = {},
): Coordinator {
  const { scenario: s, specs, coordActor } = plan;
  const odp = new OdpNotifier(lab, specs.filter((x) => x.kind === 'odp'), coordActor);
  k.mmu_notifiers.push(odp);
  const o1 = s.oracles ? installPinCheckOracle(k, lab, { coordActor }) : null;
  // O6 sb-contract, the mm half: page_mkclean()'s "PTE changed, then not pinned".
  if (lab.layout.sbOff >= 0) k.sbContract = new SbContract(lab, coordActor);
  const mmops = new MmOps({
    lab,
    policy: s.policy,
    stableWrites: s.machine.stableWrites,
    mmOps: s.mm,
    regions: specs.map((x) => ({ actor: x.name, kind: x.kind, mm: x.mm, addr: x.addr, pages: x.pages, mapping: x.mapping, file: x.file, offset: x.offset })),
    actorKinds: specs.map((x) => x.kind),
    revocable: specs.map((x) => x.revocable === true),
    coordActor,
    seed: s.seed,
    dataWords: specs.map((x) => x.dataWord),
    ...clock,
  });
  return { odp, o1, mmops };
}

/**
 * Release, from its ghost ledger, every pin a failed or dead actor still holds (the kernel analogue:
 * the driver's release on close). Returns one note per actor that held pins.
 */
export function releaseFailedActorsPins(lab: Lab, plan: RunPlan, failed: ReadonlySet<string>): string[] {
  const notes: string[] = [];
  for (const x of plan.specs) {
    if (!failed.has(x.name)) continue;
    let n = 0;
    for (let slot = 0; slot < plan.labConfig.ledgerSlots; slot++) {
      const v = lab.load(lab.ledgerIndex(x.actor, slot));
      if (v === 0) continue;
      // One entry pins a run of subpages of one folio: [first pfn + 1, subpages - 1].
      const subpages = lab.load(lab.ledgerExtraIndex(x.actor, slot)) + 1;
      lab.add(lab.ghostIndex(compound_head(v - 1)), GHOST_UNPIN);
      lab.store(lab.ledgerIndex(x.actor, slot), 0);
      lab.store(lab.ledgerExtraIndex(x.actor, slot), 0);
      for (let i = 0; i < subpages; i++) unpin_user_page(v - 1 + i);
      n += subpages;
    }
    if (n > 0) notes.push(`${x.name}: released ${n} pins it held`);
  }
  return notes;
}

/** Per file, the page range [start, end) that the clients' file regions cover. */
function usedFileRanges(specs: readonly ActorSpec[]): Map<number, [number, number]> {
  const out = new Map<number, [number, number]>();
  for (const x of specs) {
    if (x.mapping !== 'file') continue;
    const r = out.get(x.file);
    out.set(x.file, r === undefined ? [x.offset, x.offset + x.pages] : [Math.min(r[0], x.offset), Math.max(r[1], x.offset + x.pages)]);
  }
  return out;
}

/**
 * End of run: write everything back, run O2 (conservation) and O3 (lost writes) while the regions
 * are mapped, read the counters, unmap everything and drop the page cache, then check for leaks.
 * `failed` actors are left out of the ledger check; leaks are not checked after a failure.
 */
export function finishRun(k: KernelContext, lab: Lab, plan: RunPlan, mmops: MmOps, failed: ReadonlySet<string>) {
  const s = plan.scenario;
  // A fault that corrupts refcounts (plain-refcount) may BUG() the coordinator's sync or teardown:
  // the BUG is counted (O2 reports it) and what is left of that step is skipped. A machine whose
  // refcounts O2 found off is not torn down at all: a page freed while still in the page cache
  // would make truncation look it up forever.
  const survived = (step: () => unknown): boolean => {
    try {
      step();
      return true;
    } catch (e) {
      if (e instanceof KernelBug) return false;
      throw e;
    }
  };
  survived(() => mmops.sync());
  const mms = Array.from({ length: s.machine.nrMms }, (_, i) => mm_of(i));
  let trusted = true;
  if (s.oracles) {
    trusted = checkConservation(lab, mms, plan.specs.filter((x) => !failed.has(x.name)));
    // A failed actor's last writes may never have reached the page: it died between its store and
    // its record, or its release was done for it; only the live actors' writes are owed.
    checkLostWrites(lab, plan.specs.filter((x) => !failed.has(x.name)));
  }
  const vmstat = readVmstat(k.mem);
  const { warn, bug } = readWarnings(k.mem);
  const tornDown = trusted && survived(() => {
    for (const mm of mms) for (const v of vmas(mm)) do_munmap(mm, v.start * PAGE_SIZE, (v.end - v.start) * PAGE_SIZE);
    // Only the file ranges the clients mapped can hold page cache: teardown costs what the run
    // used, not the machine's size (a page cached elsewhere would show as a leak).
    for (const [f, [start, end]] of usedFileRanges(plan.specs)) truncate_inode_pages_range(f, start, end);
  });
  if (s.oracles && failed.size === 0 && tornDown) checkNoLeaks(lab);
  return { vmstat, warnings: warn as Record<string, number>, bugs: bug as Record<string, number> };
}
