/**
 * A bound on container starts in flight. A hundred starts at once on a
 * small machine all slow down together until the engine's and the agent's
 * deadlines fail many of them; a bounded number finish one after another
 * and the rest wait their turn, which no deadline counts.
 */
export class StartSlots {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  /** Runs `start` once a slot is free; `onQueued` is told the place in line when it has to wait. */
  async run<T>(start: () => Promise<T>, onQueued?: (ahead: number) => void): Promise<T> {
    if (this.running >= this.limit) {
      onQueued?.(this.waiting.length);
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await start();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next in line.
      if (next) next();
      else this.running--;
    }
  }
}
