/**
 * Scheduling-point labels: what a schedule file names each step by, so a file survives small code
 * changes (or reports exactly where it stopped matching). A label reads
 *
 *   "<participant> <kind> <word> (<operation>)"      e.g. "dio#0 rmw refcount[1409] (pin)"
 *
 * where <word> names the layout region of the word index (pte[vpn], refcount[pfn], flags[pfn],
 * pagecache[f:i], data[pfn], mm0.mmap_lock, …; lab words for the ODP driver's waits), and
 * <operation> is the actor's current operation (lab ACTOR_STAT.CUR_OP, by EVENT_NAMES).
 */
import { MM, PG, STRUCT_PAGE_WORDS, VMA, VMA_WORDS, VMSTAT_ITEMS, VMSTAT_STRIDE, type Layout } from '../mem/layout.js';
import { BUG_SITES, WARN_SITES } from '../kernel/context.js';
import { EVENT_NAMES, ODP, type LabLayout } from '../oracle/lab.js';
import { ARR, PK, PK_NAMES, TT } from './layout.js';

const PG_FIELD_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(PG).map(([k, v]) => [v, k.toLowerCase()]),
);
const MM_FIELD_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(MM).filter(([k]) => k !== 'VMAS').map(([k, v]) => [v, k.toLowerCase()]),
);
const VMA_FIELD_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(VMA).map(([k, v]) => [v, k.toLowerCase()]),
);

/** What a labeller needs to know about the machine, the lab and the participants. */
export interface LabelContext {
  layout: Layout | null;
  lab: LabLayout | null;
  /** Participant names, by participant index. */
  names: readonly string[];
  /** Lab actor block of each lab actor index -> its name (for lab words: "odp#0.user_lock"). */
  labActorNames: readonly string[];
}

/** The region name of machine word `i`. */
export function machineWordName(l: Layout | null, i: number): string {
  if (l === null) return `w[${i}]`;
  if (i < l.vmstatOff) return `hdr[${i - l.headerOff}]`;
  if (i < l.warnOff) {
    const perCpu = Math.ceil(VMSTAT_ITEMS.length / VMSTAT_STRIDE) * VMSTAT_STRIDE;
    const rel = i - l.vmstatOff;
    return `vmstat[${Math.floor(rel / perCpu)}].${VMSTAT_ITEMS[rel % perCpu] ?? rel % perCpu}`;
  }
  if (i < l.bugOff) return `warn[${WARN_SITES[i - l.warnOff] ?? i - l.warnOff}]`;
  if (i < l.mmOff) return `bug[${BUG_SITES[i - l.bugOff] ?? i - l.bugOff}]`;
  if (i < l.pgtOff) {
    const rel = i - l.mmOff;
    const mm = Math.floor(rel / l.mmWords);
    const f = rel % l.mmWords;
    if (f < MM.VMAS) return `mm${mm}.${MM_FIELD_NAMES[f] ?? `w${f}`}`;
    const v = Math.floor((f - MM.VMAS) / VMA_WORDS);
    const vf = (f - MM.VMAS) % VMA_WORDS;
    return `mm${mm}.vma[${v}].${VMA_FIELD_NAMES[vf] ?? `w${vf}`}`;
  }
  if (i < l.pageOff) {
    const rel = i - l.pgtOff;
    const mm = Math.floor(rel / l.pgtWordsPerMm);
    let k = rel % l.pgtWordsPerMm;
    const pre = mm === 0 ? '' : `mm${mm}.`;
    if (k < l.pudEntries) return `${pre}pud[${k}]`;
    k -= l.pudEntries;
    if (k < l.pmdEntries) return `${pre}pmd[${k}]`;
    k -= l.pmdEntries;
    if (k < l.vaPages) return `${pre}pte[${k}]`;
    k -= l.vaPages;
    return `${pre}ptl[${k}]`;
  }
  if (i < l.buddyOff) {
    const rel = i - l.pageOff;
    const pfn = Math.floor(rel / STRUCT_PAGE_WORDS);
    const f = rel % STRUCT_PAGE_WORDS;
    return `${PG_FIELD_NAMES[f] ?? `page.w${f}`}[${pfn}]`;
  }
  if (i < l.pageCacheOff) return `buddy[${i - l.buddyOff}]`;
  const fp = l.config.filePages;
  if (i < l.backingOff) {
    const rel = i - l.pageCacheOff;
    return fp > 0 ? `pagecache[${Math.floor(rel / fp)}:${rel % fp}]` : `pagecache[${rel}]`;
  }
  const wpp = l.config.wordsPerPage;
  if (i < l.dataOff) {
    const rel = Math.floor((i - l.backingOff) / wpp);
    return fp > 0 ? `backing[${Math.floor(rel / fp)}:${rel % fp}]` : `backing[${rel}]`;
  }
  if (i < l.totalWords) return `data[${Math.floor((i - l.dataOff) / wpp)}]`;
  return `w[${i}]`;
}

/** The name of lab word `i` (the ODP driver's words by actor; anything else by index). */
export function labWordName(ll: LabLayout | null, names: readonly string[], i: number): string {
  if (ll === null) return `lab[${i}]`;
  const rel = i - ll.actorOff;
  if (rel >= 0 && rel < ll.config.nrActors * ll.actorWords) {
    const a = Math.floor(rel / ll.actorWords);
    const f = (rel % ll.actorWords) - ll.odpOff;
    const who = names[a] ?? `actor${a}`;
    if (f === ODP.USER_LOCK) return `${who}.user_lock`;
    if (f === ODP.INVALIDATE_SEQ) return `${who}.invalidate_seq`;
  }
  return `lab[${i}]`;
}

export interface PointDesc {
  kind: number;
  index: number;
  op: number;
  /** ARR of a wait / wake (which array `index` is in). */
  arr: number;
  /** The event name of an EVENT point. */
  event?: string;
  /** For WAKE: woken by a timeout. */
  timedOut?: boolean;
}

/** The label of participant `who`'s point. */
export function pointLabel(c: LabelContext, who: number, d: PointDesc): string {
  const name = c.names[who] ?? `p${who}`;
  const op = d.op > 0 ? ` (${EVENT_NAMES[d.op] ?? d.op})` : '';
  const word = (): string => (d.arr === ARR.LAB ? labWordName(c.lab, c.labActorNames, d.index) : machineWordName(c.layout, d.index));
  switch (d.kind) {
    case PK.START:
    case PK.END:
      return `${name} ${PK_NAMES[d.kind]}`;
    case PK.SLEEP:
      return `${name} sleep${op}`;
    case PK.WAKE:
      if (d.arr === ARR.NONE) return `${name} wake${op}`;
      return `${name} wake${d.timedOut ? '(timeout)' : ''} ${word()}${op}`;
    case PK.EVENT:
      return `${name} event ${d.event ?? '?'} ${word()}${op}`;
    default:
      return `${name} ${PK_NAMES[d.kind] ?? `kind${d.kind}`} ${word()}${op}`;
  }
}

/** The label of a store-buffer flush step: the owner and the word. */
export function flushLabel(c: LabelContext, who: number, index: number): string {
  return `${c.names[who] ?? `p${who}`} flush ${machineWordName(c.layout, index)}`;
}

/** Label of a raw trace entry (see layout.ts TRACE_WORDS). */
export function traceEntryLabel(c: LabelContext, e0: number, kind: number, index: number, op: number, strings: readonly string[]): {
  who: number; flush: boolean; label: string;
} {
  const who = e0 & 0xff;
  const type = (e0 >>> 8) & 0xf;
  const timedOut = ((e0 >>> 12) & 0xf) === 1;
  const arr = (e0 >>> 16) & 0xf;
  if (type === TT.FLUSH) return { who, flush: true, label: flushLabel(c, who, index) };
  const k = kind & 0xff;
  const ev = kind >>> 8;
  return {
    who, flush: false,
    label: pointLabel(c, who, { kind: k, index, op, arr, timedOut, ...(k === PK.EVENT ? { event: strings[ev - 1] ?? '?' } : {}) }),
  };
}

/** The label a participant's pending point (runner.ts TrialResult.pending) would be recorded with. */
export function pendingLabel(
  c: LabelContext, who: number, p: { state: number; kind: number; index: number; op: number; arr: number; event: number; timedOut: boolean },
  strings: readonly string[],
): string {
  if (p.state === 3) return `${c.names[who] ?? `p${who}`} (done)`;
  if (p.state === 2) return pointLabel(c, who, { kind: PK.WAKE, index: p.index, op: p.op, arr: p.arr, timedOut: p.timedOut });
  return pointLabel(c, who, {
    kind: p.kind, index: p.index, op: p.op, arr: p.arr, ...(p.kind === PK.EVENT ? { event: strings[p.event - 1] ?? '?' } : {}),
  });
}
