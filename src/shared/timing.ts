/** Runs `step` and tells `report` how long it took, in ms, whether it succeeded or not. */
export async function timed<T>(step: () => Promise<T>, report: (ms: number) => void): Promise<T> {
  const started = performance.now();
  try {
    return await step();
  } finally {
    report(performance.now() - started);
  }
}
