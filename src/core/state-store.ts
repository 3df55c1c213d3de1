import { and, asc, desc, eq, getTableColumns, gt, inArray, isNull, sql, type SQL } from "drizzle-orm";
import type { BayDatabase } from "../db/database.ts";
import { NotFoundError } from "./errors.ts";
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

  /**
   * Inserts a sandbox with its new managed cargo, or attached to an existing
   * cargo, which must still exist when the row is written (a concurrent
   * cargo delete cannot slip in between).
   */
  insertSandbox(sandbox: SandboxRow, newCargo: CargoRow | null): void {
    this.db.transaction((tx) => {
      if (newCargo) {
        tx.insert(cargos).values(newCargo).run();
      } else {
        const cargo = tx.select({ id: cargos.id }).from(cargos).where(and(eq(cargos.id, sandbox.cargoId), isNull(cargos.deletedAt))).get();
        if (!cargo) throw new NotFoundError("cargo", sandbox.cargoId);
      }
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

  setExpiry(sandboxId: string, expiresAt: number): void {
    this.db.update(sandboxes).set({ expiresAt }).where(eq(sandboxes.id, sandboxId)).run();
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

  insertCargo(cargo: CargoRow): void {
    this.db.insert(cargos).values(cargo).run();
  }

  /** Live cargos only. */
  findCargo(owner: string, id: string): CargoRow | undefined {
    return this.db
      .select()
      .from(cargos)
      .where(and(eq(cargos.owner, owner), eq(cargos.id, id), isNull(cargos.deletedAt)))
      .get();
  }

  /** Including deleted ones, so that a repeated DELETE can answer 204. */
  findCargoRecord(owner: string, id: string): CargoRow | undefined {
    return this.db
      .select()
      .from(cargos)
      .where(and(eq(cargos.owner, owner), eq(cargos.id, id)))
      .get();
  }

  listCargos(owner: string, managed: boolean, after: PageCursor | null, limit: number): Listed<CargoRow>[] {
    const position: SQL<number> = sql<number>`${cargos}.rowid`;
    return this.db
      .select({ ...getTableColumns(cargos), position })
      .from(cargos)
      .where(
        and(
          eq(cargos.owner, owner),
          eq(cargos.managed, managed),
          isNull(cargos.deletedAt),
          after === null ? undefined : gt(position, after),
        ),
      )
      .orderBy(asc(position))
      .limit(limit)
      .all();
  }

  /**
   * Marks the cargo deleted unless a live sandbox uses it; check and mark are
   * one transaction, so no sandbox can attach in between.
   */
  deleteCargoIfUnused(cargoId: string, at: number): { activeSandboxIds: string[] } {
    return this.db.transaction((tx) => {
      const users = tx
        .select({ id: sandboxes.id })
        .from(sandboxes)
        .where(and(eq(sandboxes.cargoId, cargoId), isNull(sandboxes.deletedAt)))
        .orderBy(asc(sql`${sandboxes}.rowid`))
        .all()
        .map((row) => row.id);
      if (users.length === 0) tx.update(cargos).set({ deletedAt: at }).where(eq(cargos.id, cargoId)).run();
      return { activeSandboxIds: users };
    });
  }

  touchCargo(id: string, at: number): void {
    this.db.update(cargos).set({ lastAccessedAt: at }).where(eq(cargos.id, id)).run();
  }

  markCargoDeleted(id: string, at: number): void {
    this.db.update(cargos).set({ deletedAt: at }).where(and(eq(cargos.id, id), isNull(cargos.deletedAt))).run();
  }
}
