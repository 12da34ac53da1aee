/**
 * `pinlab/kernel`: the kernel model's API with the kernel's names (src/kernel/api.ts documents
 * the conventions). Inside a client, call the kernel through `ctx.kernel`, which is this API
 * bound to the actor's thread with its pins seen by the oracles.
 */
export * from './kernel/api.js';
