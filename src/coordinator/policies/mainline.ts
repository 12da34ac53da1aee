/**
 * `mainline`: what every kernel from v5.7 to v6.18 does. Writeback never asks about pins:
 * folio_mkclean() → page_vma_mkclean_one() write-protects and cleans the PTEs and nothing more
 * (v5.7/mm/rmap.c:897 page_mkclean_one, v6.3/mm/rmap.c:937, v6.18/mm/rmap.c:1006), so a pinned
 * page is written like any other and DMA may change it under the I/O — legal unless the device
 * needs stable pages (machine.stableWrites). Reclaim is the era's: d824ec2a1546 keeps a pinned
 * folio from v6.3 (EraSpec.reclaimKeepsPinned); before, its buffers are stripped (kernel-notes 4.1).
 * The v6.5 refusal of writable longterm pins of file mappings is the era's too
 * (EraSpec.refuseLongtermFile), not this policy's.
 */
import { type WritebackPolicy } from './policy.js';

export const MAINLINE: WritebackPolicy = {
  name: 'mainline',
  summary: 'write a pinned page like any other: writeback never asks about pins',
  history:
    'what the kernel does, every era (page_vma_mkclean_one has no pin check: v6.18/mm/rmap.c:1006); '
    + 'the v6.5 refusal of writable longterm file pins comes from the era',
  reclaim: "the era's: keeps a pinned page from v6.3 (d824ec2a1546), strips its buffers in rfc-2019 and v5.7 (kernel-notes 4.1)",
  asksPins: false,
  onPinned: 'write',
  snapshotIo: false,
  stablePinned: false,
  reclaimKeepsPinned: (spec) => spec.reclaimKeepsPinned,
  // Before d824ec2a1546 mainline loses writes (4.1); on a stable-writes device DMA changes pages
  // under writeback (4.2): both are what those kernels do, so runs there report violations.
  safeOn: (spec, stableWrites) => spec.reclaimKeepsPinned && !stableWrites,
};
