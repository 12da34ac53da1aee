// The same scenario as uring.scenario.json, as a TypeScript module (pinlab run examples/uring.scenario.ts).
import { defineScenario } from 'pinlab';

export default defineScenario({
  name: 'uring',
  durationMs: 2000,
  // v6.3: these fixed buffers are file pages, and v6.5+ refuses a writable longterm pin of a file
  // mapping (-EFAULT): on v6.18 the client would take nothing.
  era: 'v6.3',
  policy: 'skip',
  clients: [
    { kind: 'custom', module: './uring-client.ts', count: 2, pages: 32, bufferPages: 4, holdOps: 20 },
    { kind: 'dio', pages: 32, bufferPages: 2 },
  ],
  mm: { writeback: 4, munmap: 1, migrate: 1, reclaim: 1, truncate: 0 },
});
