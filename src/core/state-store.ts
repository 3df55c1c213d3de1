import { and, asc, desc, eq, getTableColumns, gt, inArray, isNull, sql, type SQL } from "drizzle-orm";
import type { BayDatabase } from "../db/database.ts";
import {
  cargos,
  sandboxes,
  sessions,
  type CargoRow,
  type SandboxRow,
  type SessionRow,
} from "../db/schema.ts";

/** Lists follow insertion order: SQLite's rowid only grows, and rows are soft-deleted. */
export type PageCursor = number;

export type Listed<T> = T & { position: PageCursor };

const ACTIVE_SESSION_STATUSES = ["starting", "running"] as const;

/**
 * Every read and write of sandbox, session and cargo rows. Calls are
 * synchronous (bun:sqlite); engine I/O never happens inside a transaction.
 */
export class StateStore {
  constructor(private readonly db: BayDatabase) {}

  insertSandbox(sandbox: SandboxRow, newCargo: CargoRow | null): void {
    this.db.transaction((tx) => {
      if (newCargo) tx.insert(cargos).values(newCargo).run();
      tx.insert(sandboxes).values(sandbox).run();
    });
  }

  /** Including soft-deleted rows; callers decide what a deleted sandbox means. */
  findSandbox(owner: string, id: string): SandboxRow | undefined {
    return this.db
      .select()
      .from(sandboxes)
      .where(and(eq(sandboxes.owner, owner), eq(sandboxes.id, id)))
      .get();
  }

  listSandboxes(owner: string, after: PageCursor | null, limit: number): Listed<SandboxRow>[] {
    const position: SQL<number> = sql<number>`${sandboxes}.rowid`;
    return this.db
      .select({ ...getTableColumns(sandboxes), position })
      .from(sandboxes)
      .where(and(eq(sandboxes.owner, owner), isNull(sandboxes.deletedAt), after === null ? undefined : gt(position, after)))
      .orderBy(asc(position))
      .limit(limit)
      .all();
  }

  markSandboxDeleted(id: string, at: number): void {
    this.db.update(sandboxes).set({ deletedAt: at }).where(and(eq(sandboxes.id, id), isNull(sandboxes.deletedAt))).run();
  }

  setLastStartError(sandboxId: string, message: string | null): void {
    this.db.update(sandboxes).set({ lastStartError: message }).where(eq(sandboxes.id, sandboxId)).run();
  }

  /** The session that holds (or is getting) compute, if any. */
  activeSession(sandboxId: string): SessionRow | undefined {
    return this.activeSessions(sandboxId)[0];
  }

  /** Newest first; more than one only if a crash interrupted a replacement. */
  activeSessions(sandboxId: string): SessionRow[] {
    return this.db
      .select()
      .from(sessions)
      .where(and(eq(sessions.sandboxId, sandboxId), inArray(sessions.status, ACTIVE_SESSION_STATUSES)))
      .orderBy(desc(sessions.createdAt))
      .all();
  }

  insertSession(session: SessionRow): void {
    this.db.insert(sessions).values(session).run();
  }

  updateSession(id: string, patch: Partial<SessionRow>): void {
    this.db.update(sessions).set(patch).where(eq(sessions.id, id)).run();
  }

  /** Marks a started session running and clears the sandbox's last start error, together. */
  markSessionRunning(session: SessionRow, patch: Partial<SessionRow>): void {
    this.db.transaction((tx) => {
      tx.update(sessions).set({ ...patch, status: "running" }).where(eq(sessions.id, session.id)).run();
      tx.update(sandboxes).set({ lastStartError: null }).where(eq(sandboxes.id, session.sandboxId)).run();
    });
  }

  markSessionFailed(session: SessionRow, message: string, at: number): void {
    this.db.transaction((tx) => {
      tx.update(sessions).set({ status: "stopped", stoppedAt: at, endpoint: null }).where(eq(sessions.id, session.id)).run();
      tx.update(sandboxes).set({ lastStartError: message }).where(eq(sandboxes.id, session.sandboxId)).run();
    });
  }

  markSessionStopped(sessionId: string, at: number): void {
    this.db.update(sessions).set({ status: "stopped", stoppedAt: at, endpoint: null }).where(eq(sessions.id, sessionId)).run();
  }

  findCargo(owner: string, id: string): CargoRow | undefined {
    return this.db
      .select()
      .from(cargos)
      .where(and(eq(cargos.owner, owner), eq(cargos.id, id), isNull(cargos.deletedAt)))
      .get();
  }

  touchCargo(id: string, at: number): void {
    this.db.update(cargos).set({ lastAccessedAt: at }).where(eq(cargos.id, id)).run();
  }

  markCargoDeleted(id: string, at: number): void {
    this.db.update(cargos).set({ deletedAt: at }).where(and(eq(cargos.id, id), isNull(cargos.deletedAt))).run();
  }
}
