/**
 * `kara-2023`: Jan Kara's "[PATCH RFC 0/5] Writeback handling of pinned pages" (9 Feb 2023,
 * Message-Id 20230209121046.25360-1-jack@suse.cz): "skip page cleaning writeback for pinned pages
 * and if we cannot avoid writing the page (data integrity writeback), we bite the bullet and
 * bounce the page". Cleaning writeback (WB_SYNC_NONE: the model's single-page writeback, the
 * flusher) leaves a pinned page dirty; data-integrity writeback (WB_SYNC_ALL: the model's region
 * writeback, an fsync) writes a snapshot and leaves the page dirty. Only the RFC's reclaim part
 * merged (d824ec2a1546); here reclaim keeps a pinned page in every era, as the RFC assumed.
 */
import { type WritebackPolicy } from './policy.js';

export const KARA_2023: WritebackPolicy = {
  name: 'kara-2023',
  summary: 'skip a pinned page in cleaning writeback; bounce it (write a snapshot, leave it dirty) in data-integrity writeback',
  history: 'Jan Kara\'s RFC "Writeback handling of pinned pages" (Feb 2023): only its reclaim part merged (d824ec2a1546)',
  reclaim: 'keeps a pinned page in every era (d824ec2a1546)',
  asksPins: true,
  onPinned: 'skip',
  onPinnedIntegrity: 'bounce',
  snapshotIo: false,
  stablePinned: true,
  reclaimKeepsPinned: () => true,
  safeOn: () => true,
};
