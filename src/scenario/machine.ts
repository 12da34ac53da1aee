/**
 * The machine a scenario boots: its machine fields plus what the clients need (a cpu each, VMA
 * slots, virtual address space for every region). Pure, so the schema can check the whole
 * machine against the layout's limits before anything runs.
 */
import { type MachineConfig } from '../mem/layout.js';
import { type Scenario } from './schema.js';

type MachineInput = Pick<Scenario, 'machine' | 'clients'>;

export function machineConfigOf(s: MachineInput): Partial<MachineConfig> {
  const m = s.machine;
  const nrActors = s.clients.reduce((n, c) => n + c.count, 0);
  const regionPages = s.clients.reduce((n, c) => n + (c.shared ? 1 : c.count) * c.pages, 0);
  return {
    normalFrames: m.normalFrames,
    movableFrames: m.movableFrames,
    daxFrames: m.daxFrames,
    huge2mPages: m.huge2mPages,
    huge1gPages: m.huge1gPages,
    wordsPerPage: m.wordsPerPage,
    nrFiles: m.nrFiles,
    filePages: m.filePages,
    nrMms: m.nrMms,
    nrCpus: nrActors + 1,
    maxVmas: Math.max(32, 8 * nrActors + 16),
    vaPages: Math.max(1 << 18, 4 * regionPages + (1 << 12)),
  };
}
