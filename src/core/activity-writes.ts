/**
 * How far ahead of what a call needs an activity write goes, so that a busy
 * sandbox's deadlines are written about once a second rather than on every
 * call (two writes per call were a large part of a call's cost in Bay).
 */
export const ACTIVITY_SLACK_MS = 1000;

/** Beyond this many remembered keys the memory is dropped; forgetting only costs writes. */
const MAX_REMEMBERED = 10_000;

/**
 * What this process last wrote of a moving timestamp (an idle deadline, a
 * last-access time), per key, so that a write that changes nothing that
 * matters is skipped.
 */
export class ActivityWrites {
  private readonly written = new Map<string, number>();

  /** True when the stored value is known to be at least `needed`: no write is due. */
  covers(key: string, needed: number): boolean {
    return (this.written.get(key) ?? -Infinity) >= needed;
  }

  wrote(key: string, value: number): void {
    if (this.written.size >= MAX_REMEMBERED) this.written.clear();
    this.written.set(key, value);
  }

  /** The stored value changed by other means (a new session, a stop): the next write goes through. */
  forget(key: string): void {
    this.written.delete(key);
  }
}
