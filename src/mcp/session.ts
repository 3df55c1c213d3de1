import type { Bay } from "../client/index.ts";

/**
 * One MCP session's hold on Bay: the client it acts through (as its caller's
 * owner) and the sandboxes it created, among them its default sandbox,
 * created on the first tool call that needs one. Closing the session
 * deletes them.
 */
export class McpSession {
  readonly created = new Set<string>();
  private defaultSandboxId: Promise<string> | null = null;
  private runningCalls = 0;
  /** When a request last came or a tool call last ended. */
  private lastUsedAt = Date.now();

  constructor(readonly bay: Bay) {}

  markUsed(): void {
    this.lastUsedAt = Date.now();
  }

  /** Runs a tool call; while one runs, the session is in use however long its request has been open. */
  async during<T>(call: () => Promise<T>): Promise<T> {
    this.runningCalls++;
    try {
      return await call();
    } finally {
      this.runningCalls--;
      this.markUsed();
    }
  }

  /** Whether the session has been unused since `cutoff`: no call running, no request or call end after it. */
  idleSince(cutoff: number): boolean {
    return this.runningCalls === 0 && this.lastUsedAt < cutoff;
  }

  defaultSandbox(): Promise<string> {
    this.defaultSandboxId ??= this.bay.sandboxes.create({}).then(
      (sandbox) => {
        this.created.add(sandbox.id);
        return sandbox.id;
      },
      (error: unknown) => {
        // A failed create is not remembered: the next call tries again.
        this.defaultSandboxId = null;
        throw error;
      },
    );
    return this.defaultSandboxId;
  }

  /** Removes the sandboxes this session created. */
  async close(): Promise<void> {
    const created = [...this.created];
    this.created.clear();
    this.defaultSandboxId = null;
    await Promise.all(created.map((id) => this.bay.sandboxes.delete(id).catch(() => undefined)));
  }
}
