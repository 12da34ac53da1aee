// comlink's Node adapter. Under `nodenext` the default import is typed as the CJS namespace
// (TS2349 "not callable"), and the .mjs build has no types (TS7016); cast once here.
// See node-stack.md §1 pitfall 5.
import umd from 'comlink/dist/umd/node-adapter.js';

export const nodeEndpoint = umd as unknown as typeof umd.default;
