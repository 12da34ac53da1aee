/**
 * The explore host: a piscina task that runs one participant of one explore trial on this thread
 * (src/explore/participant.ts). Synchronous on purpose: the participant blocks this thread in
 * Atomics.wait whenever it does not hold the scheduler's baton, and returns when its trial ends.
 * The pool runs every participant of a trial at once (one thread each; threads are reused).
 */
import { runParticipant, type ParticipantResult, type ParticipantTask } from '../src/explore/participant.js';

export default function exploreHost(task: ParticipantTask): ParticipantResult {
  return runParticipant(task);
}
