/**
 * One thread of `pinlab gup-test` (the selftest's gup_thread(), tools/testing/selftests/mm/gup_test.c:51-90):
 * attach to the machine as its own cpu, run the ioctl `repeats` times (benchmarks) or once, and
 * post each result to the main thread, which prints them in arrival order (the selftest's
 * print_mutex).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { attach } from '../src/kernel/boot.js';
import { mm_of } from '../src/kernel/mm.js';
import { type GupCmd, type GupTest, gup_test_ioctl } from '../src/clients/gup-test.js';
import { type Era, type MachineConfig } from '../src/mem/layout.js';

export interface GupThreadData {
  machineSab: SharedArrayBuffer;
  machineConfig: MachineConfig;
  era: Era;
  cpu: number;
  cmd: GupCmd;
  gup: GupTest;
  /** Benchmarks: run this many times; the others run once. */
  repeats: number;
}

const d = workerData as GupThreadData;
const k = attach(d.machineSab, d.machineConfig, { era: d.era, cpu: d.cpu });
const mm = mm_of(0);
for (let i = 0; i < d.repeats; i++) {
  const r = gup_test_ioctl(mm, d.cmd, d.gup);
  k.vmstat_flush();
  parentPort!.postMessage(r);
  if (r.ret !== 0) break;
}
