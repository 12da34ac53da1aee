// Test worker for piscina: adds `delta` to slot `index` of the shared Int32Array and
// returns the new value. The SAB arrives as a plain argument (never in a transferList).
export interface EchoTask {
  sab: SharedArrayBuffer;
  index: number;
  delta: number;
}

export default function echo({ sab, index, delta }: EchoTask): number {
  return Atomics.add(new Int32Array(sab), index, delta) + delta;
}
