/**
 * `dio-bounce`: Linux v7.0 (merge 4adc13ed7c28, `for-7.0/block-stable-pages-20260206`, Christoph
 * Hellwig's bio_iov_iter_bounce() and IOMAP_DIO_BOUNCE; XFS 3373503df025): I/O from pages that
 * user space can change (DIO) to a device that needs stable pages goes through a bounce buffer.
 * Writeback is mainline's otherwise (it asks nothing about pins); when the backing device needs
 * stable pages (machine.stableWrites) every I/O writes the snapshot taken at its start, so a page
 * a DMA writes meanwhile is redirtied instead of written unstable. Reclaim is the era's.
 */
import { type WritebackPolicy } from './policy.js';

export const DIO_BOUNCE: WritebackPolicy = {
  name: 'dio-bounce',
  summary: 'mainline, but every I/O to a stable-pages device writes a bounce copy (v7.0)',
  history: 'v7.0 (4adc13ed7c28, XFS 3373503df025): DIO to stable-write devices bounces',
  reclaim: "the era's, as mainline",
  asksPins: false,
  onPinned: 'write',
  snapshotIo: 'stable-writes',
  stablePinned: false,
  reclaimKeepsPinned: (spec) => spec.reclaimKeepsPinned,
  // The bounce makes a stable-writes device safe; elsewhere it is mainline.
  safeOn: (spec) => spec.reclaimKeepsPinned,
};
