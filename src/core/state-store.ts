import { and, asc, count, desc, eq, getTableColumns, gt, gte, inArray, isNotNull, isNull, lt, lte, min, or, sql } from "drizzle-orm";
import type { BayDatabase } from "../db/database.ts";
import type { StateDatabase, StateTables } from "../db/state-database.ts";
import type { CargoRow, SandboxRow, SessionRow } from "../db/schema.ts";
import { NotFoundError } from "../shared/errors.ts";

/** Lists follow insertion order (the backend's insertionOrder), and rows are soft-deleted. */
export type PageCursor = number;

export type Listed<T> = T & { position: PageCursor };

const ACTIVE_SESSION_STATUSES = ["starting", "running"] as const;

/** Why a session ended, kept on its row. */
export type SessionEndReason = "stopped" | "idle" | "expired" | "deleted" | "died" | "start_failed" | "abandoned" | "shutdown";

/**
 * Every read and write of sandbox, session and cargo rows, on SQLite or
 * Postgres (StateDatabase). Engine I/O never happens inside a transaction.
 */
export class StateStore {
  private readonly db: BayDatabase;
  private readonly t: StateTables;
  /**
   * What every capability call reads and writes, built and prepared once:
   * building a query costs about 100 µs, running a prepared one a few.
   */
  private readonly hot;
  /** A sandbox row's columns without a backend's own bookkeeping (Postgres's insertion sequence). */
  private readonly sandboxColumns;

  constructor(private readonly state: StateDatabase) {
    this.db = state.db;
    this.t = state.tables;
    const { sandboxes, sessions, cargos } = this.t;
    const sandboxId = sql.placeholder("sandboxId");
    const { position: _position, ...sandboxColumns } = getTableColumns(sandboxes) as ReturnType<typeof getTableColumns<typeof sandboxes>> & { position?: unknown };
    this.sandboxColumns = sandboxColumns;
    this.hot = {
      findSandbox: prepared(this.db.select(sandboxColumns).from(sandboxes).where(and(eq(sandboxes.owner, sql.placeholder("owner")), eq(sandboxes.id, sandboxId))), "find_sandbox"),
      findSandboxById: prepared(this.db.select(sandboxColumns).from(sandboxes).where(eq(sandboxes.id, sandboxId)), "find_sandbox_by_id"),
      // No ORDER BY: sessions_one_active allows one such row per sandbox, and sorting cost a temporary b-tree on
      // every capability call (about 8 µs of the lookup's 10 on SQLite).
      activeSessions: prepared(
        this.db.select().from(sessions).where(and(eq(sessions.sandboxId, sandboxId), inArray(sessions.status, ACTIVE_SESSION_STATUSES))),
        "active_sessions",
      ),
      touchRunningSession: prepared(
        this.db
          .update(sessions)
          .set({ lastActiveAt: sql`${sql.placeholder("lastActiveAt")}`, idleExpiresAt: sql`${sql.placeholder("idleExpiresAt")}` })
          .where(and(eq(sessions.sandboxId, sandboxId), eq(sessions.status, "running"))),
        "touch_running_session",
      ),
      touchCargo: prepared(this.db.update(cargos).set({ lastAccessedAt: sql`${sql.placeholder("at")}` }).where(eq(cargos.id, sql.placeholder("id"))), "touch_cargo"),
    };
  }

  /**
   * Inserts a sandbox with its new managed cargo, or attached to an existing
   * cargo, which must still exist when the row is written (a concurrent
   * cargo delete cannot slip in between).
   */
  insertSandbox(sandbox: SandboxRow, newCargo: CargoRow | null, guard?: (liveSandboxesOfOwner: number) => void): Promise<void> {
    const { sandboxes, cargos } = this.t;
    return this.state.transaction([ownerLock(sandbox.owner)], async (tx) => {
      if (guard) guard(await liveSandboxCount(tx, this.t, sandbox.owner));
      if (newCargo) {
        await tx.insert(cargos).values(newCargo);
      } else {
        const [cargo] = await tx.select({ id: cargos.id }).from(cargos).where(and(eq(cargos.id, sandbox.cargoId), isNull(cargos.deletedAt)));
        if (!cargo) throw new NotFoundError("cargo", sandbox.cargoId);
      }
      await tx.insert(sandboxes).values(sandbox);
    });
  }

  /** Including soft-deleted rows; callers decide what a deleted sandbox means. */
  async findSandbox(owner: string, id: string): Promise<SandboxRow | undefined> {
    return (await this.state.use(() => this.hot.findSandbox.execute({ owner, sandboxId: id })))[0];
  }

  listSandboxes(owner: string, after: PageCursor | null, limit: number): Promise<Listed<SandboxRow>[]> {
    const { sandboxes } = this.t;
    const position = this.state.insertionOrder(sandboxes);
    return this.state.use((db) =>
      db
        .select({ ...this.sandboxColumns, position })
        .from(sandboxes)
        .where(and(eq(sandboxes.owner, owner), isNull(sandboxes.deletedAt), after === null ? undefined : gt(position, after)))
        .orderBy(asc(position))
        .limit(limit)
        .then(numericPositions),
    );
  }

  markSandboxDeleted(id: string, at: number): Promise<void> {
    const { sandboxes } = this.t;
    return this.write((db) => db.update(sandboxes).set({ deletedAt: at }).where(and(eq(sandboxes.id, id), isNull(sandboxes.deletedAt))));
  }

  setAccessTokenHash(sandboxId: string, accessTokenHash: string): Promise<void> {
    return this.updateSandbox(sandboxId, { accessTokenHash });
  }

  setMetadata(sandboxId: string, metadata: string): Promise<void> {
    return this.updateSandbox(sandboxId, { metadata });
  }

  setExpiry(sandboxId: string, expiresAt: number): Promise<void> {
    return this.updateSandbox(sandboxId, { expiresAt });
  }

  setLastStartError(sandboxId: string, message: string | null): Promise<void> {
    return this.updateSandbox(sandboxId, { lastStartError: message });
  }

  /**
   * Brings every expires_at past `latest` back to it; returns how many. Rows
   * from before TTLs were bounded may lie past the largest date, which no
   * view can show.
   */
  async capExpiries(latest: number): Promise<number> {
    const { sandboxes } = this.t;
    const capped = await this.state.use((db) => db.update(sandboxes).set({ expiresAt: latest }).where(gt(sandboxes.expiresAt, latest)).returning({ id: sandboxes.id }));
    return capped.length;
  }

  /** The session that holds (or is getting) compute, if any. */
  async activeSession(sandboxId: string): Promise<SessionRow | undefined> {
    return (await this.activeSessions(sandboxId))[0];
  }

  /** At most one (the sessions_one_active index); a list for callers that settle whatever they find. */
  activeSessions(sandboxId: string): Promise<SessionRow[]> {
    return this.state.use(() => this.hot.activeSessions.execute({ sandboxId }));
  }

  /**
   * `guard` sees how many sessions the sandbox's owner has starting or
   * running, inside the transaction. False when the sandbox has an active
   * session already (another replica got there first): nothing is written.
   */
  async insertSession(session: SessionRow, owner: string, guard?: (activeSessionsOfOwner: number) => void): Promise<boolean> {
    const { sessions } = this.t;
    return this.state.transaction([ownerLock(owner)], async (tx) => {
      if (guard) guard(await activeSessionCount(tx, this.t, owner));
      // sessions_one_active: one starting or running session per sandbox, whoever inserts it.
      const inserted = await tx.insert(sessions).values(session).onConflictDoNothing().returning({ id: sessions.id });
      return inserted.length === 1;
    });
  }

  /** This replica is alive at `now` (its row is made on the first beat). */
  async heartbeat(replicaId: string, now: number): Promise<void> {
    const { replicas } = this.t;
    await this.state.use((db) =>
      db.insert(replicas).values({ id: replicaId, startedAt: now, heartbeatAt: now }).onConflictDoUpdate({ target: replicas.id, set: { heartbeatAt: now } }),
    );
  }

  /** The replicas whose last beat is at or after `since`. */
  async liveReplicaIds(since: number): Promise<string[]> {
    const { replicas } = this.t;
    return (await this.state.use((db) => db.select({ id: replicas.id }).from(replicas).where(gte(replicas.heartbeatAt, since)))).map((row) => row.id);
  }

  /** A replica that left (or was found dead) is forgotten. */
  async removeReplicas(before: number, alsoId?: string): Promise<void> {
    const { replicas } = this.t;
    await this.write((db) => db.delete(replicas).where(alsoId === undefined ? lt(replicas.heartbeatAt, before) : or(lt(replicas.heartbeatAt, before), eq(replicas.id, alsoId))));
  }

  /**
   * Takes or renews the lease `name` for `holder` until `now + ttlMs`: true
   * if it is now the holder's (it was free, expired, or already its own).
   */
  acquireLease(name: string, holder: string, now: number, ttlMs: number): Promise<boolean> {
    const { leases } = this.t;
    return this.state.transaction([`lease:${name}`], async (tx) => {
      const [current] = await tx.select().from(leases).where(eq(leases.name, name));
      if (current && current.holder !== holder && current.expiresAt > now) return false;
      await tx
        .insert(leases)
        .values({ name, holder, expiresAt: now + ttlMs })
        .onConflictDoUpdate({ target: leases.name, set: { holder, expiresAt: now + ttlMs } });
      return true;
    });
  }

  /** Gives the lease up if `holder` has it. */
  async releaseLease(name: string, holder: string): Promise<void> {
    const { leases } = this.t;
    await this.write((db) => db.delete(leases).where(and(eq(leases.name, name), eq(leases.holder, holder))));
  }

  /** The setting's value; `proposed` becomes it if it has none yet (the first replica's wins). */
  async settingOrSet(name: string, proposed: string): Promise<string> {
    const { settings } = this.t;
    await this.state.use((db) => db.insert(settings).values({ name, value: proposed }).onConflictDoNothing());
    const [row] = await this.state.use((db) => db.select().from(settings).where(eq(settings.name, name)));
    return row?.value ?? proposed;
  }

  /** Live sandboxes by computed status (api.md §3), in one query, for metrics. */
  async sandboxStatusCounts(now: number, excludedOwner: string): Promise<{ owner: string; status: string; count: number }[]> {
    const { sandboxes, sessions } = this.t;
    const sessionIn = (status: string) => sql`EXISTS (SELECT 1 FROM ${sessions} WHERE ${sessions.sandboxId} = ${sandboxes.id} AND ${sessions.status} = ${status})`;
    const status = sql<string>`CASE
      WHEN ${sandboxes.expiresAt} IS NOT NULL AND ${sandboxes.expiresAt} < ${now} THEN 'expired'
      WHEN ${sessionIn("running")} THEN 'ready'
      WHEN ${sessionIn("starting")} THEN 'starting'
      WHEN ${sandboxes.lastStartError} IS NOT NULL THEN 'failed'
      ELSE 'idle' END`;
    const rows = await this.state.use((db) =>
      db
        .select({ owner: sandboxes.owner, status, n: count() })
        .from(sandboxes)
        .where(and(isNull(sandboxes.deletedAt), sql`${sandboxes.owner} <> ${excludedOwner}`))
        // By position: the CASE again would carry its own placeholders, which Postgres does not see as the same expression.
        .groupBy(sql`1, 2`),
    );
    return rows.map((row) => ({ owner: row.owner, status: row.status, count: Number(row.n) }));
  }

  /** Live sandboxes of the pool owner for a profile, with whether their session is ready or starting. */
  async poolMembers(poolOwner: string, profileId: string): Promise<{ sandbox: SandboxRow; ready: boolean; starting: boolean }[]> {
    const { sandboxes } = this.t;
    const members = await this.state.use((db) =>
      db
        .select(this.sandboxColumns)
        .from(sandboxes)
        .where(and(eq(sandboxes.owner, poolOwner), eq(sandboxes.profileId, profileId), isNull(sandboxes.deletedAt))),
    );
    return Promise.all(
      members.map(async (sandbox) => {
        const session = await this.activeSession(sandbox.id);
        return { sandbox, ready: session?.status === "running" && session.endpoint !== null, starting: session?.status === "starting" };
      }),
    );
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
  ): Promise<SandboxRow | null> {
    const { sandboxes, sessions, cargos } = this.t;
    // The pool's lock too: two owners claiming from one pool must not take the same member.
    return this.state.transaction([ownerLock(owner), ownerLock(poolOwner)], async (tx) => {
      const [candidate] = await tx
        .select({ sandbox: this.sandboxColumns, sessionId: sessions.id })
        .from(sandboxes)
        .innerJoin(sessions, and(eq(sessions.sandboxId, sandboxes.id), eq(sessions.status, "running")))
        .where(and(eq(sandboxes.owner, poolOwner), eq(sandboxes.profileId, profileId), isNull(sandboxes.deletedAt), isNull(sessions.idleExpiresAt)))
        .orderBy(asc(this.state.insertionOrder(sandboxes)))
        .limit(1);
      if (!candidate) return null;
      if (!roomForSession(await activeSessionCount(tx, this.t, owner))) return null;
      if (!roomForSandbox(await liveSandboxCount(tx, this.t, owner))) return null;
      const claimed: SandboxRow = { ...candidate.sandbox, owner, createdAt: now, expiresAt };
      await tx.delete(sandboxes).where(eq(sandboxes.id, claimed.id));
      await tx.insert(sandboxes).values(claimed);
      await tx.update(cargos).set({ owner, createdAt: now, lastAccessedAt: now }).where(eq(cargos.id, claimed.cargoId));
      await tx.update(sessions).set({ lastActiveAt: now, idleExpiresAt: now + idleTimeoutMs }).where(eq(sessions.id, candidate.sessionId));
      return claimed;
    });
  }

  countLiveSandboxes(owner: string): Promise<number> {
    return this.state.use((db) => liveSandboxCount(db, this.t, owner));
  }

  updateSession(id: string, patch: Partial<SessionRow>): Promise<void> {
    const { sessions } = this.t;
    return this.write((db) => db.update(sessions).set(patch).where(eq(sessions.id, id)));
  }

  /** The activity of the sandbox's running session, if it has one: when it was last used and when it may be reaped as idle. */
  async touchRunningSession(sandboxId: string, activity: Pick<SessionRow, "lastActiveAt" | "idleExpiresAt">): Promise<void> {
    await this.state.use(() => this.hot.touchRunningSession.execute({ sandboxId, ...activity }));
  }

  /**
   * Marks a starting session running and clears the sandbox's last start
   * error, together; false (nothing written) when it no longer starts (a
   * stop or delete on another replica ended it meanwhile).
   */
  markSessionRunning(session: SessionRow, patch: Partial<SessionRow>): Promise<boolean> {
    const { sandboxes, sessions } = this.t;
    return this.state.transaction([`sandbox:${session.sandboxId}`], async (tx) => {
      const updated = await tx
        .update(sessions)
        .set({ ...patch, status: "running" })
        .where(and(eq(sessions.id, session.id), eq(sessions.status, "starting")))
        .returning({ id: sessions.id });
      if (updated.length === 0) return false;
      await tx.update(sandboxes).set({ lastStartError: null }).where(eq(sandboxes.id, session.sandboxId));
      return true;
    });
  }

  /** Ends a session that is still starting (its replica is gone); false if it no longer starts. */
  async abandonStartingSession(id: string, at: number): Promise<boolean> {
    const { sessions } = this.t;
    const ended = await this.state.use((db) =>
      db
        .update(sessions)
        .set({ status: "stopped", stoppedAt: at, endpoint: null, endReason: "abandoned" })
        .where(and(eq(sessions.id, id), eq(sessions.status, "starting")))
        .returning({ id: sessions.id }),
    );
    return ended.length === 1;
  }

  markSessionFailed(session: SessionRow, message: string, at: number): Promise<void> {
    return this.endOrRun(session, { status: "stopped", stoppedAt: at, endpoint: null, endReason: "start_failed" }, { lastStartError: message });
  }

  markSessionStopped(sessionId: string, at: number, reason: SessionEndReason): Promise<void> {
    return this.updateSession(sessionId, { status: "stopped", stoppedAt: at, endpoint: null, endReason: reason });
  }

  /** Compute was lost without being asked to stop: the session ends and the sandbox shows when and why. */
  markSessionDied(session: SessionRow, reason: string, at: number): Promise<void> {
    return this.endOrRun(session, { status: "stopped", stoppedAt: at, endpoint: null, endReason: "died" }, { stateResetAt: at, stateResetReason: reason });
  }

  async findSession(id: string): Promise<SessionRow | undefined> {
    const { sessions } = this.t;
    return (await this.state.use((db) => db.select().from(sessions).where(eq(sessions.id, id))))[0];
  }

  /** The most recent session of a sandbox, whatever its state. */
  async latestSession(sandboxId: string): Promise<SessionRow | undefined> {
    const { sessions } = this.t;
    return (await this.state.use((db) => db.select().from(sessions).where(eq(sessions.sandboxId, sandboxId)).orderBy(desc(sessions.createdAt)).limit(1)))[0];
  }

  sessionsWithStatus(status: SessionRow["status"]): Promise<SessionRow[]> {
    const { sessions } = this.t;
    return this.state.use((db) => db.select().from(sessions).where(eq(sessions.status, status)));
  }

  /** Running sessions past their idle deadline. */
  idleSessions(now: number): Promise<SessionRow[]> {
    const { sessions } = this.t;
    return this.state.use((db) => db.select().from(sessions).where(and(eq(sessions.status, "running"), lte(sessions.idleExpiresAt, now))));
  }

  /** Live (not deleted) sandboxes whose TTL has passed. */
  expiredSandboxes(now: number): Promise<SandboxRow[]> {
    const { sandboxes } = this.t;
    return this.state.use((db) => db.select(this.sandboxColumns).from(sandboxes).where(and(isNull(sandboxes.deletedAt), lte(sandboxes.expiresAt, now))));
  }

  /** The earliest idle or expiry deadline after `now`, so the collector can wake for it. */
  async nextDeadline(now: number): Promise<number | null> {
    const { sandboxes, sessions } = this.t;
    const [idle] = await this.state.use((db) =>
      db.select({ at: min(sessions.idleExpiresAt) }).from(sessions).where(and(eq(sessions.status, "running"), gt(sessions.idleExpiresAt, now))),
    );
    const [expiry] = await this.state.use((db) =>
      db.select({ at: min(sandboxes.expiresAt) }).from(sandboxes).where(and(isNull(sandboxes.deletedAt), gt(sandboxes.expiresAt, now))),
    );
    const deadlines = [idle?.at, expiry?.at].filter((at) => at !== null && at !== undefined).map(Number);
    return deadlines.length ? Math.min(...deadlines) : null;
  }

  async findSandboxById(id: string): Promise<SandboxRow | undefined> {
    return (await this.state.use(() => this.hot.findSandboxById.execute({ sandboxId: id })))[0];
  }

  async findCargoById(id: string): Promise<CargoRow | undefined> {
    const { cargos } = this.t;
    return (await this.state.use((db) => db.select(cargoColumns(cargos)).from(cargos).where(eq(cargos.id, id))))[0];
  }

  /** Managed cargos still live whose sandbox was deleted before `deletedBefore` (a later one's teardown may still be at work). */
  async managedCargosOfDeletedSandboxes(deletedBefore: number): Promise<CargoRow[]> {
    const { sandboxes, cargos } = this.t;
    const rows = await this.state.use((db) =>
      db
        .select({ cargo: cargoColumns(cargos) })
        .from(cargos)
        .innerJoin(sandboxes, eq(sandboxes.id, cargos.managedBySandboxId))
        .where(and(eq(cargos.managed, true), isNull(cargos.deletedAt), isNotNull(sandboxes.deletedAt), lt(sandboxes.deletedAt, deletedBefore))),
    );
    return rows.map((row) => row.cargo);
  }

  /** `guard` sees how many live external cargos the owner has, inside the transaction that inserts this one. */
  insertCargo(cargo: CargoRow, guard?: (externalCargosOfOwner: number) => void): Promise<void> {
    const { cargos } = this.t;
    return this.state.transaction([ownerLock(cargo.owner)], async (tx) => {
      if (guard) guard(await externalCargoCount(tx, this.t, cargo.owner));
      await tx.insert(cargos).values(cargo);
    });
  }

  countExternalCargos(owner: string): Promise<number> {
    return this.state.use((db) => externalCargoCount(db, this.t, owner));
  }

  /** Live cargos only. */
  async findCargo(owner: string, id: string): Promise<CargoRow | undefined> {
    const { cargos } = this.t;
    return (await this.state.use((db) => db.select(cargoColumns(cargos)).from(cargos).where(and(eq(cargos.owner, owner), eq(cargos.id, id), isNull(cargos.deletedAt)))))[0];
  }

  /** Including deleted ones, so that a repeated DELETE can answer 204. */
  async findCargoRecord(owner: string, id: string): Promise<CargoRow | undefined> {
    const { cargos } = this.t;
    return (await this.state.use((db) => db.select(cargoColumns(cargos)).from(cargos).where(and(eq(cargos.owner, owner), eq(cargos.id, id)))))[0];
  }

  listCargos(owner: string, managed: boolean, after: PageCursor | null, limit: number): Promise<Listed<CargoRow>[]> {
    const { cargos } = this.t;
    const position = this.state.insertionOrder(cargos);
    return this.state.use((db) =>
      db
        .select({ ...cargoColumns(cargos), position })
        .from(cargos)
        .where(and(eq(cargos.owner, owner), eq(cargos.managed, managed), isNull(cargos.deletedAt), after === null ? undefined : gt(position, after)))
        .orderBy(asc(position))
        .limit(limit)
        .then(numericPositions),
    );
  }

  /**
   * Marks the cargo deleted unless a live sandbox uses it; check and mark are
   * one transaction, so no sandbox can attach in between.
   */
  deleteCargoIfUnused(cargoId: string, at: number): Promise<{ activeSandboxIds: string[] }> {
    const { sandboxes, cargos } = this.t;
    return this.state.transaction([`cargo:${cargoId}`], async (tx) => {
      const users = await tx
        .select({ id: sandboxes.id })
        .from(sandboxes)
        .where(and(eq(sandboxes.cargoId, cargoId), isNull(sandboxes.deletedAt)))
        .orderBy(asc(this.state.insertionOrder(sandboxes)));
      if (users.length === 0) await tx.update(cargos).set({ deletedAt: at }).where(eq(cargos.id, cargoId));
      return { activeSandboxIds: users.map((row) => row.id) };
    });
  }

  async touchCargo(id: string, at: number): Promise<void> {
    await this.state.use(() => this.hot.touchCargo.execute({ id, at }));
  }

  markCargoDeleted(id: string, at: number): Promise<void> {
    const { cargos } = this.t;
    return this.write((db) => db.update(cargos).set({ deletedAt: at }).where(and(eq(cargos.id, id), isNull(cargos.deletedAt))));
  }

  private updateSandbox(sandboxId: string, patch: Partial<SandboxRow>): Promise<void> {
    const { sandboxes } = this.t;
    return this.write((db) => db.update(sandboxes).set(patch).where(eq(sandboxes.id, sandboxId)));
  }

  /** A session's new state and its sandbox's, together. */
  private endOrRun(session: SessionRow, sessionPatch: Partial<SessionRow>, sandboxPatch: Partial<SandboxRow>): Promise<void> {
    const { sandboxes, sessions } = this.t;
    return this.state.transaction([`sandbox:${session.sandboxId}`], async (tx) => {
      await tx.update(sessions).set(sessionPatch).where(eq(sessions.id, session.id));
      await tx.update(sandboxes).set(sandboxPatch).where(eq(sandboxes.id, session.sandboxId));
    });
  }

  /** One write statement (its result is not needed). */
  private async write(statement: (db: BayDatabase) => PromiseLike<unknown>): Promise<void> {
    await this.state.use(statement);
  }
}

/** The lock a transaction about an owner's quota takes (Postgres: an advisory lock on its hash). */
function ownerLock(owner: string): string {
  return `owner:${owner}`;
}

/** A query prepared once; Postgres names it, SQLite ignores the name. */
function prepared<Q extends { prepare(): unknown }>(query: Q, name: string): { execute(values: Record<string, unknown>): Promise<any> } {
  return (query as unknown as { prepare(name: string): { execute(values: Record<string, unknown>): Promise<any> } }).prepare(name);
}

/** A cargo row's columns (none of a backend's own bookkeeping). */
function cargoColumns(cargos: StateTables["cargos"]) {
  const { position: _position, ...columns } = getTableColumns(cargos) as ReturnType<typeof getTableColumns<typeof cargos>> & { position?: unknown };
  return columns;
}

/** Postgres returns a bigint sequence as a string. */
function numericPositions<T extends { position: unknown }>(rows: T[]): (T & { position: number })[] {
  return rows.map((row) => ({ ...row, position: Number(row.position) }));
}

/** Sandboxes of the owner that are not deleted (quota max_sandboxes). */
async function liveSandboxCount(db: BayDatabase, { sandboxes }: StateTables, owner: string): Promise<number> {
  const [row] = await db.select({ n: count() }).from(sandboxes).where(and(eq(sandboxes.owner, owner), isNull(sandboxes.deletedAt)));
  return Number(row?.n ?? 0);
}

/** Sessions of the owner's sandboxes that are starting or running (quota max_running_sessions). */
async function activeSessionCount(db: BayDatabase, { sandboxes, sessions }: StateTables, owner: string): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(sessions)
    .innerJoin(sandboxes, eq(sandboxes.id, sessions.sandboxId))
    .where(and(eq(sandboxes.owner, owner), inArray(sessions.status, ACTIVE_SESSION_STATUSES)));
  return Number(row?.n ?? 0);
}

/** Cargos of the owner made through /v1/cargos and not deleted (quota max_cargos). */
async function externalCargoCount(db: BayDatabase, { cargos }: StateTables, owner: string): Promise<number> {
  const [row] = await db.select({ n: count() }).from(cargos).where(and(eq(cargos.owner, owner), eq(cargos.managed, false), isNull(cargos.deletedAt)));
  return Number(row?.n ?? 0);
}
