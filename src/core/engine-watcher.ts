import { consola } from "consola";
import type { Driver, EventSubscription } from "./driver.ts";
import { instanceFilter, LABEL } from "./labels.ts";
import type { SessionManager } from "./session-manager.ts";

const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 5000;
/** A stopped engine keeps the event stream open and silent: pinged this often, it is noticed anyway. */
const HEARTBEAT_MS = 5000;

/**
 * Follows the engine's container events so that a killed or OOM-killed
 * sandbox container is noticed at once, not at the next call. When the event
 * stream breaks (engine restart), it reconnects with backoff and then asks
 * for a reconciliation, since events may have been missed meanwhile. A
 * heartbeat treats an engine that stops answering pings as a break too.
 */
export class EngineWatcher {
  private subscription: EventSubscription | null = null;
  private retryTimer: Timer | null = null;
  private retryDelay = RECONNECT_MIN_MS;
  private stopped = true;
  private heartbeat: Timer | null = null;

  constructor(
    private readonly driver: Driver,
    private readonly sessions: SessionManager,
    private readonly instanceId: string,
    /** Called after the stream came back from a break. */
    private readonly onReconnected: () => Promise<unknown>,
  ) {}

  async start(): Promise<void> {
    this.stopped = false;
    await this.connect(false);
    this.heartbeat = setInterval(() => void this.checkEngine(), HEARTBEAT_MS);
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    this.subscription?.close();
    this.subscription = null;
  }

  get connected(): boolean {
    return this.subscription !== null;
  }

  private async connect(afterBreak: boolean): Promise<void> {
    try {
      this.subscription = await this.driver.watchContainerEnds(
        instanceFilter(this.instanceId),
        (event) => {
          const sessionId = event.labels[LABEL.sessionId];
          if (sessionId) void this.sessions.handleDeath(sessionId, event.reason, event.endedAt).catch((error: Error) => consola.warn(`engine watcher: ${error.message}`));
        },
        (error) => this.onBreak(error),
      );
      this.retryDelay = RECONNECT_MIN_MS;
      if (afterBreak) {
        consola.info("engine watcher: the container engine is back; reconciling");
        await this.onReconnected().catch((error: Error) => consola.warn(`engine watcher: reconciliation failed: ${error.message}`));
      }
    } catch (error) {
      this.onBreak(error as Error);
    }
  }

  private async checkEngine(): Promise<void> {
    const subscription = this.subscription;
    if (!subscription) return;
    try {
      await this.driver.ping();
    } catch (error) {
      if (this.subscription !== subscription || this.stopped) return;
      subscription.close();
      this.onBreak(error as Error);
    }
  }

  private onBreak(error?: Error): void {
    this.subscription = null;
    if (this.stopped) return;
    if (this.retryDelay === RECONNECT_MIN_MS) {
      consola.warn(`engine watcher: lost the container engine's events${error ? ` (${error.message})` : ""}; retrying`);
    }
    this.retryTimer = setTimeout(() => void this.connect(true), this.retryDelay);
    this.retryDelay = Math.min(this.retryDelay * 2, RECONNECT_MAX_MS);
  }
}
