/**
 * Case 3, ODP / HMM: no pins. An mmu_interval_notifier over the client's region; the device fault
 * path follows the kernel's sequence protocol (kernel-notes §3.5):
 *
 *   again: seq = mmu_interval_read_begin(mni)      // waits while an invalidation is running
 *          mmap_read_lock; walk (hmm_range_fault); mmap_read_unlock
 *          take(user_lock)
 *          if (mmu_interval_read_retry(mni, seq)) { release; goto again }
 *          install the device PTE; release(user_lock)
 *
 * The invalidate callback (OdpNotifier) runs in the invalidating thread — the coordinator — under
 * the same user_lock: mmu_interval_set_seq, tear down the device PTEs of the range, unlock.
 * Device accesses go through a device PTE under user_lock (DMA is stopped while the lock is held);
 * a read fault maps the page read-only for the device, and a device write needs a write fault.
 * The fault odp-no-retry installs without mmu_interval_read_retry.
 */
import { PG } from '../mem/layout.js';
import { type MmuNotifier } from '../kernel/context.js';
import { handle_mm_fault } from '../kernel/fault.js';
import { find_vma, mm_of, mmap_read_lock, mmap_read_unlock } from '../kernel/mm.js';
import { compound_head, pw } from '../kernel/page.js';
import { _PAGE_PRESENT, _PAGE_RW, pte_pfn } from '../kernel/pgtable.js';
import { current } from '../kernel/current.js';
import { futexWait } from '../mem/futex.js';
import { ACTOR_STAT, EVENT, LAB_HDR, type Lab, ODP, ODP_PTE, ODP_PTE_WORDS, ORACLE, VIOLATION_KIND } from '../oracle/lab.js';
import { type Actor } from './actor.js';
import { type Client } from './client.js';
import { type ActorSpec } from './types.js';

/** The driver's user_lock: a lab word spinlock (0 free, 1 held). */
function user_lock(lab: Lab, idx: number): void {
  lab.noteWrite(idx);
  for (let spins = 0; Atomics.compareExchange(lab.i32, idx, 0, 1) !== 0; spins++) {
    if (spins > 100) futexWait(lab.i32, idx, 1, 1);
  }
}
function user_unlock(lab: Lab, idx: number): void {
  Atomics.store(lab.i32, idx, 0);
  Atomics.notify(lab.i32, idx, 1);
}

function odpBase(lab: Lab, actor: number): number {
  return lab.actorBase(actor) + lab.layout.odpOff;
}

export class OdpClient implements Client {
  private readonly base: number;
  constructor(private readonly a: Actor) {
    this.base = odpBase(a.lab, a.spec.actor);
    if (a.spec.pages > a.lab.layout.config.odpPages) {
      throw new Error(`${a.spec.name}: region of ${a.spec.pages} pages exceeds the lab's odpPages (${a.lab.layout.config.odpPages})`);
    }
  }

  private pte(i: number): number {
    return this.base + ODP.PTES + i * ODP_PTE_WORDS;
  }

  step(): void {
    const a = this.a;
    const lab = a.lab;
    const i = a.int(0, a.spec.pages - 1);
    const write = a.chance(a.spec.writeRatio);
    const pte = this.pte(i);
    const lock = this.base + ODP.USER_LOCK;
    // The driver's own protocol steps live in the lab, which is not scheduling points; label them
    // as events on the page's PTE so explore mode can interleave at them.
    a.k.mem.event('odp-access', a.mm.pt.pte(a.regionVpn + i));
    user_lock(lab, lock);
    const dev = lab.load(pte + ODP_PTE.PFN);
    if (dev !== 0 && (!write || (dev & 1) !== 0)) {
      // A device access through a valid device PTE, with DMA "running" under user_lock.
      const pfn = (dev >>> 1) - 1;
      a.doing(EVENT.ODP_ACCESS, pfn);
      if (a.oracles && lab.load(pte + ODP_PTE.INVAL_EPOCH) > lab.load(pte + ODP_PTE.WALK_EPOCH)) {
        // O4: this device PTE was walked before an invalidation of its range began, and survived it.
        lab.violation(ORACLE.O4, a.spec.actor, pfn, VIOLATION_KIND.STALE_DEVICE_PTE,
          lab.load(pte + ODP_PTE.WALK_EPOCH), lab.load(pte + ODP_PTE.INVAL_EPOCH), a.spec.offset + i);
        lab.store(pte + ODP_PTE.PFN, 0); // report once
      } else if (write) {
        a.dmaWrite(pfn, i, lab.load(pte + ODP_PTE.GEN));
      }
      user_unlock(lab, lock);
      a.stat(ACTOR_STAT.ODP_ACCESSES);
      return;
    }
    user_unlock(lab, lock);
    this.fault(i, write);
  }

  /** The device page fault: the interval notifier's read_begin / walk / lock / read_retry protocol. */
  private fault(i: number, write: boolean): void {
    const a = this.a;
    const lab = a.lab;
    const m = a.k.mem;
    const seqIdx = this.base + ODP.INVALIDATE_SEQ;
    const lock = this.base + ODP.USER_LOCK;
    const vpn = a.regionVpn + i;
    a.stat(ACTOR_STAT.ODP_FAULTS);
    a.doing(EVENT.ODP_FAULT, vpn);
    for (let attempt = 0; attempt < 1000 && !lab.stopped(); attempt++) {
      // mmu_interval_read_begin: wait while this interval is being invalidated (odd seq).
      m.event('odp-read-begin', a.mm.pt.pte(vpn));
      let seq = lab.load(seqIdx);
      while ((seq & 1) !== 0) {
        futexWait(lab.i32, seqIdx, seq, 1);
        if (lab.stopped()) return;
        seq = lab.load(seqIdx);
      }
      const walkEpoch = lab.load(LAB_HDR.INVALIDATE_EPOCH);
      // hmm_range_fault: walk under mmap_lock, faulting the page in; no reference is taken.
      let pfn = -1;
      mmap_read_lock(a.mm);
      try {
        for (let tries = 0; tries < 4 && pfn < 0; tries++) {
          const e = m.load(a.mm.pt.pte(vpn));
          if ((e & _PAGE_PRESENT) !== 0 && (!write || (e & _PAGE_RW) !== 0)) {
            pfn = pte_pfn(e);
            break;
          }
          const vma = find_vma(a.mm, vpn);
          if (vma === null || handle_mm_fault(a.mm, vma, vpn, write) < 0) break;
        }
      } finally {
        mmap_read_unlock(a.mm);
      }
      if (pfn < 0) {
        a.stat(ACTOR_STAT.GUP_FAILS);
        a.event(EVENT.GUP_FAIL, vpn, -14);
        return;
      }
      const gen = m.load(pw(compound_head(pfn), PG.GEN));
      m.event('odp-lock', a.mm.pt.pte(vpn));
      user_lock(lab, lock);
      // mmu_interval_read_retry: an invalidation started since read_begin means the walk is stale.
      if (!current.fault('odp-no-retry') && lab.load(seqIdx) !== seq) {
        user_unlock(lab, lock);
        a.stat(ACTOR_STAT.ODP_RETRIES);
        a.event(EVENT.ODP_RETRY, pfn, seq);
        continue;
      }
      const pte = this.pte(i);
      m.event('odp-install', a.mm.pt.pte(vpn));
      lab.store(pte + ODP_PTE.WALK_EPOCH, walkEpoch);
      lab.store(pte + ODP_PTE.GEN, gen);
      lab.store(pte + ODP_PTE.PFN, ((pfn + 1) << 1) | (write ? 1 : 0));
      user_unlock(lab, lock);
      a.event(EVENT.ODP_INSTALL, pfn, walkEpoch);
      return;
    }
  }

  /** Tear down every device PTE (the driver unregisters its notifier). */
  release(): void {
    const lab = this.a.lab;
    const lock = this.base + ODP.USER_LOCK;
    user_lock(lab, lock);
    for (let i = 0; i < this.a.spec.pages; i++) lab.store(this.pte(i) + ODP_PTE.PFN, 0);
    user_unlock(lab, lock);
  }
}

/**
 * The invalidate side, registered in the invalidating thread's mmu_notifiers: for every ODP
 * interval overlapping [start, end) of the mm, take the driver's user_lock, make the interval's
 * sequence odd (mmu_interval_set_seq), tear down the overlapping device PTEs and stamp them with
 * the invalidation epoch, unlock; at invalidate_range_end the sequence becomes even again.
 */
export class OdpNotifier implements MmuNotifier {
  invalidations = 0;
  constructor(
    private readonly lab: Lab,
    private readonly odps: ActorSpec[],
    private readonly coordActor: number,
  ) {}

  private overlapping(mm: number, start: number, end: number): { spec: ActorSpec; lo: number; hi: number }[] {
    const out = [];
    for (const spec of this.odps) {
      if (spec.mm !== mm) continue;
      const s = spec.addr / 4096;
      const lo = Math.max(start, s);
      const hi = Math.min(end, s + spec.pages);
      if (lo < hi) out.push({ spec, lo: lo - s, hi: hi - s });
    }
    return out;
  }

  invalidate_range_start(mm: number, start: number, end: number): void {
    const lab = this.lab;
    for (const { spec, lo, hi } of this.overlapping(mm, start, end)) {
      const base = odpBase(lab, spec.actor);
      current.mem.event('odp-invalidate', mm_of(mm).pt.pte(spec.addr / 4096 + lo));
      const epoch = lab.add(LAB_HDR.INVALIDATE_EPOCH, 1) + 1;
      user_lock(lab, base + ODP.USER_LOCK);
      const seq = lab.load(base + ODP.INVALIDATE_SEQ);
      if ((seq & 1) === 0) lab.store(base + ODP.INVALIDATE_SEQ, seq + 1);
      for (let i = lo; i < hi; i++) {
        const pte = base + ODP.PTES + i * ODP_PTE_WORDS;
        lab.store(pte + ODP_PTE.INVAL_EPOCH, epoch);
        lab.store(pte + ODP_PTE.PFN, 0);
      }
      user_unlock(lab, base + ODP.USER_LOCK);
      lab.add(base + ODP.INVALIDATIONS, 1);
      this.invalidations++;
      lab.event(this.coordActor, EVENT.INVALIDATE, spec.actor, epoch);
    }
  }

  invalidate_range_end(mm: number, start: number, end: number): void {
    const lab = this.lab;
    for (const { spec, lo } of this.overlapping(mm, start, end)) {
      const base = odpBase(lab, spec.actor);
      current.mem.event('odp-invalidate-end', mm_of(mm).pt.pte(spec.addr / 4096 + lo));
      const seq = lab.load(base + ODP.INVALIDATE_SEQ);
      if ((seq & 1) !== 0) lab.store(base + ODP.INVALIDATE_SEQ, seq + 1);
      Atomics.notify(lab.i32, base + ODP.INVALIDATE_SEQ);
    }
  }
}
