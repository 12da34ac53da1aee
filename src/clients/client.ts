/** A client protocol: one operation per step(); release() drops whatever it still holds. */
export interface Client {
  step(): void;
  release(): void;
}
