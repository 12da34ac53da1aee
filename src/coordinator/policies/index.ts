/**
 * The writeback policies (--policy), one module each: `mainline` (what the kernel does, the
 * default) and the research policies `skip`, `bounce`, `wait`, `revoke`, `ignore`, `kara-2023` (Jan Kara's 2023 RFC),
 * `unevictable` (Wilcox, Jan 2023) and `dio-bounce` (v7.0's bounce for stable-write devices).
 */
import { type EraSpec } from '../../kernel/era/index.js';
import { type Policy, POLICIES } from '../../scenario/schema.js';
import { BOUNCE } from './bounce.js';
import { DIO_BOUNCE } from './dio-bounce.js';
import { IGNORE } from './ignore.js';
import { KARA_2023 } from './kara-2023.js';
import { MAINLINE } from './mainline.js';
import { type WritebackPolicy } from './policy.js';
import { REVOKE } from './revoke.js';
import { SKIP } from './skip.js';
import { UNEVICTABLE } from './unevictable.js';
import { WAIT } from './wait.js';

export type { PinnedAction, PolicyHost, WritebackPolicy } from './policy.js';

/** Every policy, by name. */
export const WRITEBACK_POLICIES: Readonly<Record<Policy, WritebackPolicy>> = {
  mainline: MAINLINE,
  skip: SKIP,
  bounce: BOUNCE,
  wait: WAIT,
  revoke: REVOKE,
  ignore: IGNORE,
  'kara-2023': KARA_2023,
  unevictable: UNEVICTABLE,
  'dio-bounce': DIO_BOUNCE,
};

/** The policy called `name`. */
export function writebackPolicy(name: Policy): WritebackPolicy {
  return WRITEBACK_POLICIES[name];
}

/** The policies under which the fault-free model must run clean on `spec` (native bugs off). */
export function safePolicies(spec: EraSpec, stableWrites = false): Policy[] {
  return POLICIES.filter((p) => WRITEBACK_POLICIES[p].safeOn(spec, stableWrites));
}
