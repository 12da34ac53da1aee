/**
 * O6 sb-contract: the store-buffering contract between gup-fast and an mm operation that changes
 * a PTE and then asks page_maybe_dma_pinned() (kernel-notes §3.1; the mm half is page_mkclean()
 * under a policy that consults pins). Checked the moment the two halves meet, not by the damage.
 *
 *   GUP:  R  read the PTE (value e)   G  grab (FOLL_PIN: refcount + bias)   V  re-read the PTE (== e)
 *   mm:   C  change the PTE away from e                                    K  read "not pinned"
 *
 * With every access sequentially consistent, a kept reference (V passed) and a not-pinned K
 * cannot both come from the same change: K not pinned ⇒ K before G; G before V (program order);
 * C before K (program order); so C before V, and V must have seen the change. An execution where
 * K came before G *and* V came before the change was visible is therefore the contract broken —
 * a missing re-check (V is then R), a PTE store still in a store buffer, a missing barrier —
 * whatever the damage it later does or does not cause.
 *
 * Bookkeeping: one clock word (LAB_HDR.SB_CLOCK) stamped right after each timed access, and per
 * frame two seqlocked records (SB_RECORD): the mm side's last "changed from e, visible by tC,
 * then not pinned at tK", and gup-fast's last "kept through value e, grabbed by tG, validated at
 * tV". Each side writes its record, then reads the other's; the violation is logged by whichever
 * comes second, when pte word and value match and tK < tG and tV < tC. All of it is lab Atomics:
 * no scheduling point, so explore's schedules are unchanged and, under its baton, a stamp is
 * exact. Under real threads a stamp comes some time after its access; in the fault-free model that
 * can only hide a violation, never invent one: a late tK or tV makes the test fail, and a late tC
 * or tG still precedes any restore of the entry (the PT lock is held until after tC) and the
 * pin's release (after the kept page is reported).
 */
import { type SbContractHook } from '../kernel/context.js';
import { LAB_HDR, type Lab, ORACLE, SB_RECORD, SB_RECORD_WORDS, VIOLATION_KIND } from './lab.js';

/** Bounded spins on a half being written by another thread (real threads only; explore never sees one). */
const SEQ_SPINS = 64;

/** The oracle of one thread (an actor's gup-fast, or the coordinator's page_mkclean), installed as KernelContext.sbContract. */
export class SbContract implements SbContractHook {
  /** Violations this thread logged. */
  violations = 0;
  private readonly i32: Int32Array;

  constructor(
    private readonly lab: Lab,
    /** This thread's lab actor (the coordinator's for the mm side). */
    private readonly actor: number,
  ) {
    if (lab.layout.sbOff < 0) throw new RangeError('SbContract: the lab has no store-buffering records (LabConfig.contractFrames)');
    this.i32 = lab.i32;
  }

  stamp(): number {
    this.lab.noteWrite(LAB_HDR.SB_CLOCK);
    return Atomics.add(this.i32, LAB_HDR.SB_CLOCK, 1) + 1;
  }

  gupKept(pfn: number, pte: number, value: number, grabbedAt: number, validatedAt: number): void {
    const base = this.record(pfn);
    if (!this.write(base + SB_RECORD.GUP, [pte + 1, value, grabbedAt, validatedAt, this.actor])) return;
    const mm = this.read(base + SB_RECORD.MM, 4);
    if (mm !== null) this.judge(pfn, mm, [pte + 1, value, grabbedAt, validatedAt, this.actor]);
  }

  mmNotPinned(pfn: number, pte: number, old: number, notPinnedAt: number, visibleAt: number): void {
    const base = this.record(pfn);
    if (!this.write(base + SB_RECORD.MM, [pte + 1, old, notPinnedAt, visibleAt])) return;
    const gup = this.read(base + SB_RECORD.GUP, 5);
    if (gup !== null) this.judge(pfn, [pte + 1, old, notPinnedAt, visibleAt], gup);
  }

  /** Both halves of one frame: the contract is broken when they name the same PTE word and value, K before G, and V before C. */
  private judge(pfn: number, mm: number[], gup: number[]): void {
    const [mmPte, old, notPinnedAt, visibleAt] = mm as [number, number, number, number];
    const [gupPte, value, grabbedAt, validatedAt, holder] = gup as [number, number, number, number, number];
    if (mmPte === 0 || mmPte !== gupPte || old !== value) return;
    if (!(notPinnedAt < grabbedAt && validatedAt < visibleAt)) return;
    this.violations++;
    this.lab.violation(ORACLE.O6, holder, pfn, VIOLATION_KIND.SB_CONTRACT, gupPte - 1, value, notPinnedAt, validatedAt);
  }

  private record(pfn: number): number {
    return this.lab.layout.sbOff + pfn * SB_RECORD_WORDS;
  }

  /** Seqlocked write of one half; false when another thread is writing it (the record is then skipped, never torn). */
  private write(seqIdx: number, fields: readonly number[]): boolean {
    const s = Atomics.load(this.i32, seqIdx);
    if ((s & 1) !== 0 || Atomics.compareExchange(this.i32, seqIdx, s, s + 1) !== s) return false;
    this.lab.noteWrite(seqIdx);
    this.lab.noteWrite(seqIdx + fields.length);
    fields.forEach((v, k) => Atomics.store(this.i32, seqIdx + 1 + k, v));
    Atomics.store(this.i32, seqIdx, s + 2);
    return true;
  }

  /** Seqlocked read of one half's `n` fields, or null (never written, or torn by a concurrent writer). */
  private read(seqIdx: number, n: number): number[] | null {
    for (let spin = 0; spin < SEQ_SPINS; spin++) {
      const s1 = Atomics.load(this.i32, seqIdx);
      if (s1 === 0) return null;
      if ((s1 & 1) !== 0) continue;
      const out: number[] = [];
      for (let k = 0; k < n; k++) out.push(Atomics.load(this.i32, seqIdx + 1 + k));
      if (Atomics.load(this.i32, seqIdx) === s1) return out;
    }
    return null;
  }
}
