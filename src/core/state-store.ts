import { and, asc, desc, eq, getTableColumns, gt, inArray, isNotNull, isNull, lte, sql, type SQL } from "drizzle-orm";
import type { BayDatabase } from "../db/database.ts";
import { NotFoundError } from "../shared/errors.ts";
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

/** Why a session ended, kept on its row. */
export type SessionEndReason = "stopped" | "idle" | "expired" | "deleted" | "died" | "start_failed" | "abandoned" | "shutdown";

/**
 * Every read and write of sandbox, session and cargo rows. Calls are
 * synchronous (bun:sqlite); engine I/O never happens inside a transaction.
 */
export class StateStore {
  /**
   * What every capability call reads and writes, built and prepared once:
   * building a query costs about 100 µs, running a prepared one a few.
   */
  private readonly hot;

  constructor(private readonly db: BayDatabase) {
    const sandboxId = sql.placeholder("sandboxId");
    this.hot = {
      findSandbox: db
        .select()
        .from(sandboxes)
        .where(and(eq(sandboxes.owner, sql.placeholder("owner")), eq(sandboxes.id, sandboxId)))
        .prepare(),
      findSandboxById: db.select().from(sandboxes).where(eq(sandboxes.id, sandboxId)).prepare(),
      activeSessions: db
        .select()
        .from(sessions)
        .where(and(eq(sessions.sandboxId, sandboxId), inArray(sessions.status, ACTIVE_SESSION_STATUSES)))
        .orderBy(desc(sessions.createdAt))
        .prepare(),
      touchRunningSession: db
        .update(sessions)
        .set({ lastActiveAt: sql`${sql.placeholder("lastActiveAt")}`, idleExpiresAt: sql`${sql.placeholder("idleExpiresAt")}` })
        .where(and(eq(sessions.sandboxId, sandboxId), eq(sessions.status, "running")))
        .prepare(),
      touchCargo: db
        .update(cargos)
        .set({ lastAccessedAt: sql`${sql.placeholder("at")}` })
        .where(eq(cargos.id, sql.placeholder("id")))
        .prepare(),
    };
  }

  /**
   * Inserts a sandbox with its new managed cargo, or attached to an existing
   * cargo, which must still exist when the row is written (a concurrent
   * cargo delete cannot slip in between).
   */
  insertSandbox(sandbox: SandboxRow, newCargo: CargoRow | null, guard?: (liveSandboxesOfOwner: number) => void): void {
    this.db.transaction((tx) => {
      if (guard) {
        guard(liveSandboxCount(tx, sandbox.owner));
      }
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
    return this.hot.findSandbox.get({ owner, sandboxId: id });
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

  setAccessTokenHash(sandboxId: string, accessTokenHash: string): void {
    this.db.update(sandboxes).set({ accessTokenHash }).where(eq(sandboxes.id, sandboxId)).run();
  }

  setMetadata(sandboxId: string, metadata: string): void {
    this.db.update(sandboxes).set({ metadata }).where(eq(sandboxes.id, sandboxId)).run();
  }

  setExpiry(sandboxId: string, expiresAt: number): void {
    this.db.update(sandboxes).set({ expiresAt }).where(eq(sandboxes.id, sandboxId)).run();
  }

  /**
   * Brings every expires_at past `latest` back to it; returns how many. Rows
   * from before TTLs were bounded may lie past the largest date, which no
   * view can show.
   */
  capExpiries(latest: number): number {
    return this.db
      .update(sandboxes)
      .set({ expiresAt: latest })
      .where(gt(sandboxes.expiresAt, latest))
      .returning({ id: sandboxes.id })
      .all().length;
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
    return this.hot.activeSessions.all({ sandboxId });
  }

  /** `guard` sees how many sessions the sandbox's owner has starting or running, inside the transaction. */
  insertSession(session: SessionRow, guard?: (activeSessionsOfOwner: number) => void): void {
    this.db.transaction((tx) => {
      if (guard) {
        const owner = tx.select({ owner: sandboxes.owner }).from(sandboxes).where(eq(sandboxes.id, session.sandboxId)).get()?.owner;
        guard(activeSessionCount(tx, owner ?? ""));
      }
      tx.insert(sessions).values(session).run();
    });
  }

  /** Live sandboxes by computed status (api.md §3), in one query, for metrics. */
  sandboxStatusCounts(now: number, excludedOwner: string): Record<string, number> {
    const rows = this.db.$client
      .query<{ status: string; n: number }, [number, string]>(
        `SELECT CASE
           WHEN b.expires_at IS NOT NULL AND b.expires_at < ?1 THEN 'expired'
           WHEN EXISTS (SELECT 1 FROM sessions s WHERE s.sandbox_id = b.id AND s.status = 'running') THEN 'ready'
           WHEN EXISTS (SELECT 1 FROM sessions s WHERE s.sandbox_id = b.id AND s.status = 'starting') THEN 'starting'
           WHEN b.last_start_error IS NOT NULL THEN 'failed'
           ELSE 'idle' END AS status, count(*) AS n
         FROM sandboxes b WHERE b.deleted_at IS NULL AND b.owner != ?2 GROUP BY 1`,
      )
      .all(now, excludedOwner);
    return Object.fromEntries(rows.map((row) => [row.status, row.n]));
  }

  /** Live sandboxes of the pool owner for a profile, with whether their session is ready or starting. */
  poolMembers(poolOwner: string, profileId: string): { sandbox: SandboxRow; ready: boolean; starting: boolean }[] {
    return this.db
      .select()
      .from(sandboxes)
      .where(and(eq(sandboxes.owner, poolOwner), eq(sandboxes.profileId, profileId), isNull(sandboxes.deletedAt)))
      .all()
      .map((sandbox) => {
        const session = this.activeSession(sandbox.id);
        return { sandbox, ready: session?.status === "running" && session.endpoint !== null, starting: session?.status === "starting" };
      });
  }

  /**
   * Hands a ready pool member of the profile to `owner` in one transaction:
   * the row is written again (so that it lists in creation order), its cargo
   * and session are re-owned and the idle clock starts. Null if none is
   * ready or `roomForSession` says the owner may not run another session.
   */
  claimPoolMember(
    poolOwner: string,
    owner: string,
    profileId: string,
    now: number,
    expiresAt: number | null,
    idleTimeoutMs: number,
    roomForSession: (activeSessionsOfOwner: number) => boolean,
    roomForSandbox: (liveSandboxesOfOwner: number) => boolean,
  ): SandboxRow | null {
    return this.db.transaction(
      (tx) => {
        const candidate = tx
          .select({ sandbox: sandboxes, sessionId: sessions.id })
          .from(sandboxes)
          .innerJoin(sessions, and(eq(sessions.sandboxId, sandboxes.id), eq(sessions.status, "running")))
          .where(and(eq(sandboxes.owner, poolOwner), eq(sandboxes.profileId, profileId), isNull(sandboxes.deletedAt), isNull(sessions.idleExpiresAt)))
          .orderBy(asc(sql`${sandboxes}.rowid`))
          .get();
        if (!candidate) return null;
        if (!roomForSession(activeSessionCount(tx, owner))) return null;
        if (!roomForSandbox(liveSandboxCount(tx, owner))) return null;
        const claimed: SandboxRow = { ...candidate.sandbox, owner, createdAt: now, expiresAt };
        tx.delete(sandboxes).where(eq(sandboxes.id, claimed.id)).run();
        tx.insert(sandboxes).values(claimed).run();
        tx.update(cargos).set({ owner, createdAt: now, lastAccessedAt: now }).where(eq(cargos.id, claimed.cargoId)).run();
        tx.update(sessions).set({ lastActiveAt: now, idleExpiresAt: now + idleTimeoutMs }).where(eq(sessions.id, candidate.sessionId)).run();
        return claimed;
      },
      { behavior: "immediate" },
    );
  }

  countLiveSandboxes(owner: string): number {
    return liveSandboxCount(this.db, owner);
  }

  updateSession(id: string, patch: Partial<SessionRow>): void {
    this.db.update(sessions).set(patch).where(eq(sessions.id, id)).run();
  }

  /** The activity of the sandbox's running session, if it has one: when it was last used and when it may be reaped as idle. */
  touchRunningSession(sandboxId: string, activity: Pick<SessionRow, "lastActiveAt" | "idleExpiresAt">): void {
    this.hot.touchRunningSession.run({ sandboxId, ...activity });
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
      tx.update(sessions)
        .set({ status: "stopped", stoppedAt: at, endpoint: null, endReason: "start_failed" })
        .where(eq(sessions.id, session.id))
        .run();
      tx.update(sandboxes).set({ lastStartError: message }).where(eq(sandboxes.id, session.sandboxId)).run();
    });
  }

  markSessionStopped(sessionId: string, at: number, reason: SessionEndReason): void {
    this.db
      .update(sessions)
      .set({ status: "stopped", stoppedAt: at, endpoint: null, endReason: reason })
      .where(eq(sessions.id, sessionId))
      .run();
  }

  /** Compute was lost without being asked to stop: the session ends and the sandbox shows when and why. */
  markSessionDied(session: SessionRow, reason: string, at: number): void {
    this.db.transaction((tx) => {
      tx.update(sessions)
        .set({ status: "stopped", stoppedAt: at, endpoint: null, endReason: "died" })
        .where(eq(sessions.id, session.id))
        .run();
      tx.update(sandboxes).set({ stateResetAt: at, stateResetReason: reason }).where(eq(sandboxes.id, session.sandboxId)).run();
    });
  }

  findSession(id: string): SessionRow | undefined {
    return this.db.select().from(sessions).where(eq(sessions.id, id)).get();
  }

  /** The most recent session of a sandbox, whatever its state. */
  latestSession(sandboxId: string): SessionRow | undefined {
    return this.db.select().from(sessions).where(eq(sessions.sandboxId, sandboxId)).orderBy(desc(sessions.createdAt)).get();
  }

  sessionsWithStatus(status: SessionRow["status"]): SessionRow[] {
    return this.db.select().from(sessions).where(eq(sessions.status, status)).all();
  }

  /** Running sessions past their idle deadline. */
  idleSessions(now: number): SessionRow[] {
    return this.db
      .select()
      .from(sessions)
      .where(and(eq(sessions.status, "running"), lte(sessions.idleExpiresAt, now)))
      .all();
  }

  /** Live (not deleted) sandboxes whose TTL has passed. */
  expiredSandboxes(now: number): SandboxRow[] {
    return this.db
      .select()
      .from(sandboxes)
      .where(and(isNull(sandboxes.deletedAt), lte(sandboxes.expiresAt, now)))
      .all();
  }

  /** The earliest idle or expiry deadline after `now`, so the collector can wake for it. */
  nextDeadline(now: number): number | null {
    const idle = this.db
      .select({ at: sql<number | null>`min(${sessions.idleExpiresAt})` })
      .from(sessions)
      .where(and(eq(sessions.status, "running"), gt(sessions.idleExpiresAt, now)))
      .get()?.at;
    const expiry = this.db
      .select({ at: sql<number | null>`min(${sandboxes.expiresAt})` })
      .from(sandboxes)
      .where(and(isNull(sandboxes.deletedAt), gt(sandboxes.expiresAt, now)))
      .get()?.at;
    const deadlines = [idle, expiry].filter((at): at is number => typeof at === "number");
    return deadlines.length ? Math.min(...deadlines) : null;
  }

  findSandboxById(id: string): SandboxRow | undefined {
    return this.hot.findSandboxById.get({ sandboxId: id });
  }

  findCargoById(id: string): CargoRow | undefined {
    return this.db.select().from(cargos).where(eq(cargos.id, id)).get();
  }

  /** Deleted sandboxes whose managed cargo was not removed yet (a delete the engine interrupted). */
  managedCargosOfDeletedSandboxes(): CargoRow[] {
    return this.db
      .select({ cargo: cargos })
      .from(cargos)
      .innerJoin(sandboxes, eq(sandboxes.id, cargos.managedBySandboxId))
      .where(and(eq(cargos.managed, true), isNull(cargos.deletedAt), isNotNull(sandboxes.deletedAt)))
      .all()
      .map((row) => row.cargo);
  }

  /** `guard` sees how many live external cargos the owner has, inside the transaction that inserts this one. */
  insertCargo(cargo: CargoRow, guard?: (externalCargosOfOwner: number) => void): void {
    this.db.transaction(
      (tx) => {
        if (guard) guard(externalCargoCount(tx, cargo.owner));
        tx.insert(cargos).values(cargo).run();
      },
      // Takes the write lock before counting, so that another process cannot count the same room.
      { behavior: "immediate" },
    );
  }

  countExternalCargos(owner: string): number {
    return externalCargoCount(this.db, owner);
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
    this.hot.touchCargo.run({ id, at });
  }

  markCargoDeleted(id: string, at: number): void {
    this.db.update(cargos).set({ deletedAt: at }).where(and(eq(cargos.id, id), isNull(cargos.deletedAt))).run();
  }
}

/** The database or a transaction of it: the quota counts run in either. */
type Reader = Pick<BayDatabase, "select">;

/** Sandboxes of the owner that are not deleted (quota max_sandboxes). */
function liveSandboxCount(reader: Reader, owner: string): number {
  return (
    reader
      .select({ n: sql<number>`count(*)` })
      .from(sandboxes)
      .where(and(eq(sandboxes.owner, owner), isNull(sandboxes.deletedAt)))
      .get()?.n ?? 0
  );
}

/** Sessions of the owner's sandboxes that are starting or running (quota max_running_sessions). */
function activeSessionCount(reader: Reader, owner: string): number {
  return (
    reader
      .select({ n: sql<number>`count(*)` })
      .from(sessions)
      .innerJoin(sandboxes, eq(sandboxes.id, sessions.sandboxId))
      .where(and(eq(sandboxes.owner, owner), inArray(sessions.status, ACTIVE_SESSION_STATUSES)))
      .get()?.n ?? 0
  );
}

/** Cargos of the owner made through /v1/cargos and not deleted (quota max_cargos). */
function externalCargoCount(reader: Reader, owner: string): number {
  return (
    reader
      .select({ n: sql<number>`count(*)` })
      .from(cargos)
      .where(and(eq(cargos.owner, owner), eq(cargos.managed, false), isNull(cargos.deletedAt)))
      .get()?.n ?? 0
  );
}
