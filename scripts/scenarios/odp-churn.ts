// ODP clients (no pins, mmu interval notifiers) against heavy munmap and migration churn.
// Run: pinlab run scripts/scenarios/odp-churn.ts
import { defineScenario } from '../../src/scenario/schema.js';

export default defineScenario({
  name: 'odp-churn',
  seed: 11,
  durationMs: 5000,
  delay: 'light',
  clients: [
    { kind: 'odp', count: 2, mapping: 'file', file: 1, offset: 0, pages: 32, writeRatio: 0.7 },
    { kind: 'dio', count: 1, mapping: 'file', file: 1, offset: 16, pages: 32, bufferPages: 4 },
  ],
  mm: { writeback: 1, munmap: 3, migrate: 3, reclaim: 1, truncate: 0 },
});
