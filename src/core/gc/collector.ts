import { consola } from "consola";
import { ConflictError } from "../../shared/errors.ts";
import type { BayConfig } from "../config/index.ts";
import type { Metrics } from "../metrics.ts";
import type { GcContext } from "./task.ts";
import { DEADLINE_TASKS, GC_TASKS, selectTasks, type SelectedTask } from "./tasks.ts";

export interface GcTaskReport {
  task_name: string;
  cleaned_count: number;
  skipped_count: number;
  errors: string[];
}

export interface GcRunReport {
  results: GcTaskReport[];
  total_cleaned: number;
  total_errors: number;
  duration_ms: number;
  started_at: string;
  replica_id: string;
}

export interface GcStatus {
  enabled: boolean;
  is_running: boolean;
  instance_id: string;
  interval_seconds: number;
  last_run_at: string | null;
  /** Per task: whether the schedule runs it (every task runs on schedule when gc is enabled, and on demand always). */
  tasks: Record<string, { enabled: boolean }>;
}

export interface GcRunRequest {
  /** Which tasks, by Bay's or shipyard-neo's names; all by default. Unknown names are a validation error. */
  tasks?: readonly string[];
  /** At start-up: no grace for young orphans, and sessions still "starting" were abandoned. */
  atStartup?: boolean;
}

/** Deadline tasks run at least this often, so new and moved deadlines are met within a second. */
const DEADLINE_POLL_MS = 1000;
/** The lease a pass holds: one pass at a time among the replicas, scheduled or asked for. */
const PASS_LEASE = "gc_pass";
/** How long a pass asked for waits for another replica's pass to end. */
const PASS_WAIT_MS = 120_000;

/**
 * The collector (api.md §8): runs all its tasks every interval_seconds, one
 * run at a time, and the deadline tasks (idle, expiry) at the next deadline
 * and at least every second, so both are honoured to the second.
 */
export class GarbageCollector {
  private running: Promise<GcRunReport> | null = null;
  private lastRunAt: number | null = null;
  private timer: Timer | null = null;
  private nextFullRunAt = 0;
  private stopped = true;
  private ticking: Promise<void> | null = null;

  constructor(
    private readonly context: GcContext,
    private readonly settings: BayConfig["gc"],
    private readonly metrics: Metrics,
  ) {}

  status(): GcStatus {
    return {
      enabled: this.settings.enabled,
      is_running: this.running !== null,
      instance_id: this.context.instanceId,
      interval_seconds: this.settings.interval_seconds,
      last_run_at: this.lastRunAt === null ? null : new Date(this.lastRunAt).toISOString(),
      tasks: Object.fromEntries(Object.keys(GC_TASKS).map((name) => [name, { enabled: this.settings.enabled }])),
    };
  }

  /** Runs now, after any run in progress here or on another replica (runs never overlap). */
  async run(request: GcRunRequest = {}): Promise<GcRunReport> {
    const report = await this.runUnderLease(request, PASS_WAIT_MS);
    if (!report) throw new ConflictError("another replica's collector pass did not end in time; try again", { lease: PASS_LEASE });
    return report;
  }

  /** A pass, once this replica holds the pass lease (waiting at most `waitMs` for it); null if it could not be had. */
  private async runUnderLease(request: GcRunRequest, waitMs: number): Promise<GcRunReport | null> {
    const tasks = selectTasks(request.tasks);
    while (this.running) await this.running.catch(() => undefined);
    const pass = this.context.replica.withLease(PASS_LEASE, waitMs, () => this.runTasks(tasks, request));
    const running = pass.then((report) => report ?? this.emptyReport());
    this.running = running;
    try {
      return await pass;
    } finally {
      if (this.running === running) this.running = null;
    }
  }

  start(): void {
    if (!this.settings.enabled) return;
    this.stopped = false;
    this.nextFullRunAt = Date.now() + this.settings.interval_seconds * 1000;
    void this.schedule();
  }

  /** Stops the schedule and waits for a run in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    // A tick may be between its start and its pass: it is waited for too, so nothing runs on a closed database.
    await this.ticking;
    await this.running?.catch(() => undefined);
  }

  private async schedule(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    const now = Date.now();
    const deadline = await this.context.store.nextDeadline(now).catch((error: Error) => {
      consola.warn(`gc: reading the next deadline failed: ${error.message}`);
      return null;
    });
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    const wakeAt = Math.min(this.nextFullRunAt, now + DEADLINE_POLL_MS, deadline === null ? Infinity : deadline + 1);
    this.timer = setTimeout(() => {
      this.ticking = this.tick().finally(() => (this.ticking = null));
    }, Math.max(0, wakeAt - now));
  }

  private async tick(): Promise<void> {
    this.timer = null;
    if (this.stopped) return;
    const full = Date.now() >= this.nextFullRunAt;
    if (full) this.nextFullRunAt = Date.now() + this.settings.interval_seconds * 1000;
    try {
      // The schedule is the leader's: another replica's passes would only repeat it.
      if (this.context.replica.isLeader()) await this.runUnderLease(full ? {} : { tasks: DEADLINE_TASKS }, 0);
    } catch (error) {
      consola.error("gc: run failed", error);
    }
    if (!this.stopped) await this.schedule();
  }

  private emptyReport(): GcRunReport {
    return { results: [], total_cleaned: 0, total_errors: 0, duration_ms: 0, started_at: new Date().toISOString(), replica_id: this.context.replica.id };
  }

  private async runTasks(tasks: SelectedTask[], request: GcRunRequest): Promise<GcRunReport> {
    const startedAt = new Date().toISOString();
    const started = performance.now();
    const options = {
      now: Date.now(),
      orphanGraceMs: request.atStartup ? 0 : this.settings.orphan_grace_seconds * 1000,
      atStartup: request.atStartup ?? false,
    };
    const results: GcTaskReport[] = [];
    for (const { name, task } of tasks) {
      let outcome;
      try {
        outcome = await task(this.context, options);
      } catch (error) {
        outcome = { cleaned: 0, skipped: 0, errors: [(error as Error).message ?? String(error)] };
      }
      results.push({ task_name: name, cleaned_count: outcome.cleaned, skipped_count: outcome.skipped, errors: outcome.errors });
    }
    this.lastRunAt = Date.now();
    this.metrics.gcRuns.inc();
    for (const result of results) if (result.cleaned_count > 0) this.metrics.gcRemoved.inc({ task: result.task_name }, result.cleaned_count);
    const report = {
      results,
      total_cleaned: results.reduce((sum, r) => sum + r.cleaned_count, 0),
      total_errors: results.reduce((sum, r) => sum + r.errors.length, 0),
      duration_ms: Math.round(performance.now() - started),
      started_at: startedAt,
      replica_id: this.context.replica.id,
    };
    logReport(report);
    return report;
  }
}

function logReport(report: GcRunReport): void {
  const acted = report.results.filter((r) => r.cleaned_count > 0 || r.errors.length > 0);
  if (acted.length === 0) {
    consola.debug(`gc: nothing to collect (${report.duration_ms} ms)`);
    return;
  }
  const parts = acted.map((r) => `${r.task_name}=${r.cleaned_count}${r.errors.length ? ` (${r.errors.length} errors: ${r.errors.join("; ")})` : ""}`);
  consola.info(`gc: removed ${report.total_cleaned} in ${report.duration_ms} ms: ${parts.join(", ")}`);
}
