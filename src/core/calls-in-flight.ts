/**
 * Counts the calls (and streams) at work on each sandbox: what keeps the
 * collector from reaping a sandbox as idle while it is busy.
 */
export class CallsInFlight {
  private readonly counts = new Map<string, number>();

  /** Counts a call on the sandbox until the returned function is called (once; later calls do nothing). */
  enter(sandboxId: string): () => void {
    this.counts.set(sandboxId, (this.counts.get(sandboxId) ?? 0) + 1);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const remaining = (this.counts.get(sandboxId) ?? 1) - 1;
      if (remaining > 0) this.counts.set(sandboxId, remaining);
      else this.counts.delete(sandboxId);
    };
  }

  any(sandboxId: string): boolean {
    return this.counts.has(sandboxId);
  }

  /** The sandboxes with at least one call in flight. */
  sandboxIds(): string[] {
    return [...this.counts.keys()];
  }
}
