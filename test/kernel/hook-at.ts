/**
 * The other thread, simulated on the test's own thread (issue 13): an access hook (src/mem/mem.ts
 * `Mem.hook`) that runs another actor's operation synchronously just before the N-th shared access
 * matching `when`, then uninstalls itself (so the operation it runs, and everything after, see no
 * hook: no re-entrance). This makes a check-then-recheck interleaving deterministic and visible to
 * the mutation run.
 */
import type { MmuNotifier } from '../../src/kernel/context.js';
import { ACCESS, type AccessKind, type Mem } from '../../src/mem/mem.js';

export { ACCESS };

/** What `when` is asked about each access. */
export type AccessPredicate = (kind: AccessKind, index: number, label?: string) => boolean;

/** Handle of an installed hook: whether it fired, and a way to remove it unfired. */
export interface HookAt {
  fired(): boolean;
  remove(): void;
}

/** Before the `nth` (1-based) access matching `when`, uninstall the hook and run `act`. */
export function hookAt(mem: Mem, when: AccessPredicate, act: () => void, nth = 1): HookAt {
  let seen = 0;
  let fired = false;
  const hook = {
    before(kind: AccessKind, index: number, label?: string): void {
      if (!when(kind, index, label) || ++seen < nth) return;
      mem.hook = null;
      fired = true;
      act();
    },
  };
  mem.hook = hook;
  return {
    fired: () => fired,
    remove: () => {
      if (mem.hook === hook) mem.hook = null;
    },
  };
}

/** A predicate for one word and, optionally, one kind of access. */
export const at = (word: number, kind?: AccessKind): AccessPredicate => (k, i) => i === word && (kind === undefined || k === kind);

/** A predicate for a labelled event (`Mem.event`), optionally at one word. */
export const onEvent = (label: string, word?: number): AccessPredicate => (k, i, l) => k === ACCESS.EVENT && l === label && (word === undefined || i === word);

/** Record every mmu-notifier call of `k` as text: `start <mm> <s>-<e> <event>`, `end <mm> <s>-<e>`. */
export function notifierLog(k: { mmu_notifiers: MmuNotifier[] }): string[] {
  const log: string[] = [];
  k.mmu_notifiers.push({
    invalidate_range_start: (mm, s, e, ev) => void log.push(`start ${mm} ${s}-${e} ${ev}`),
    invalidate_range_end: (mm, s, e) => void log.push(`end ${mm} ${s}-${e}`),
  });
  return log;
}
