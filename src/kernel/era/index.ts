/** The eras pinlab models, by name (DESIGN.md §3): one spec each, chosen once at boot. */
import { ERA_ALIASES, ERAS, type Era } from '../../mem/layout.js';
import { RFC_2019 } from './rfc-2019.js';
import type { EraSpec } from './spec.js';
import { V5_7 } from './v5.7.js';
import { V6_3 } from './v6.3.js';
import { V6_18 } from './v6.18.js';

export type { EraSpec, FollBits, GupArgRules, LongtermLoop } from './spec.js';
export { FOLL_BITS_2019, FOLL_BITS_ENUM, FOLL_UNKNOWN, follTranslator } from './foll.js';

/** Every era's spec, in release order. */
export const ERA_SPECS: Readonly<Record<Era, EraSpec>> = {
  'rfc-2019': RFC_2019,
  'v5.7': V5_7,
  'v6.3': V6_3,
  'v6.18': V6_18,
};

/** The era of the current tree: the default of the model and of the embedded scenario. */
export const CURRENT_ERA: Era = 'v6.18';

/**
 * The era called `name`, its old names accepted (`seed-2019` is `rfc-2019`). Throws a RangeError
 * that lists the eras for anything else.
 */
export function resolveEra(name: string): Era {
  const real = (ERA_ALIASES as Readonly<Record<string, Era>>)[name] ?? name;
  if (!(ERAS as readonly string[]).includes(real)) throw new RangeError(`era must be one of ${ERAS.join(', ')}, got ${name}`);
  return real as Era;
}

/** The spec of an era (aliases accepted). */
export function eraSpec(name: string): EraSpec {
  return ERA_SPECS[resolveEra(name)];
}

/** The eras in which a fault of the catalogue is native code. */
export function erasWithNative(fault: string): Era[] {
  return ERAS.filter((e) => ERA_SPECS[e].native.includes(fault));
}
