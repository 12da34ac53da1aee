// The same scenario as uring.scenario.json, as a TypeScript module (pinlab run examples/uring.scenario.ts).
import { defineScenario } from 'pinlab';

export default defineScenario({
  name: 'uring',
  durationMs: 2000,
  policy: 'skip',
  clients: [
    { kind: 'custom', module: './uring-client.ts', count: 2, pages: 32, bufferPages: 4, holdOps: 20 },
    { kind: 'dio', pages: 32, bufferPages: 2 },
  ],
  mm: { writeback: 4, munmap: 1, migrate: 1, reclaim: 1, truncate: 0 },
});
