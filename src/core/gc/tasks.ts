import { lostContainerReason } from "../container-end.ts";
import { instanceFilter, LABEL } from "../labels.ts";
import { cargoSizeLimits } from "./cargo-limits.ts";
import { forEachItem, type GcTask, type TaskOutcome } from "./task.ts";
import { preview, ValidationError } from "../../shared/errors.ts";

/** Running sessions idle past idle_expires_at: container removed, cargo kept. Busy ones are left. */
export const idleSessions: GcTask = async ({ store, sessions }, { now }) =>
  forEachItem(await store.idleSessions(now), (session) => sessions.reapIfIdle(session, now));

/** Sandboxes past expires_at: deleted with their compute and managed cargo. */
export const expiredSandboxes: GcTask = async ({ store, sandboxes }, { now }) =>
  forEachItem(await store.expiredSandboxes(now), async (sandbox) => {
    await sandboxes.remove(sandbox, "expired");
    return true;
  });

/**
 * Sessions the database thinks hold compute, checked against the engine:
 * a running session whose container is gone, stopped or paused (its agent
 * cannot answer) lost its state and is replaced at the next call; one left
 * "starting" by a dead process is abandoned.
 */
export const lostSessions: GcTask = async ({ store, driver, sessions, replica }, { atStartup }) => {
  const candidates = [...(await store.sessionsWithStatus("running")), ...(await store.sessionsWithStatus("starting"))];
  return forEachItem(candidates, async (session) => {
    if (!atStartup && sessions.isBusy(session.sandboxId)) return false;
    if (session.status === "starting") {
      // A start goes on while its replica lives; one whose replica died (or was this process before a restart) never ends.
      if (await replica.isAlive(session.replicaId)) return false;
      return sessions.abandonStart(session);
    }
    const container = session.containerId ? await driver.inspectContainer(session.containerId) : null;
    if (container?.running && !container.paused) return false;
    return sessions.handleDeath(session.id, lostContainerReason(container), container?.running ? undefined : container?.finishedAt);
  });
};

/**
 * Containers of this instance that no live session owns: unknown sessions,
 * stopped sessions, deleted sandboxes (an interrupted delete), crashes.
 */
export const orphanContainers: GcTask = async ({ store, driver, sessions, instanceId }, { now, orphanGraceMs, atStartup }) => {
  const containers = await driver.listContainers(instanceFilter(instanceId));
  return forEachItem(containers, async (container) => {
    if (now - container.createdAt < orphanGraceMs) return false;
    const sessionId = container.labels[LABEL.sessionId];
    const session = sessionId ? await store.findSession(sessionId) : undefined;
    const sandbox = session ? await store.findSandboxById(session.sandboxId) : undefined;
    const owned = session && session.status !== "stopped" && sandbox && !sandbox.deletedAt;
    if (owned) return false;
    if (session && !atStartup && sessions.isBusy(session.sandboxId)) return false;
    if (session && session.status !== "stopped") await sessions.stop(session.sandboxId, "deleted");
    await driver.removeContainer(container.id);
    return true;
  });
};

/**
 * Session directories in this Bay's data_dir (a token file, a socket) whose
 * session holds no compute: ended by another replica, which cannot reach
 * this data_dir, or left by a crash. A directory is made after its session's
 * row, so a session starting now is never taken for an orphan.
 */
export const orphanSessionDirectories: GcTask = async ({ store, sessions }) =>
  forEachItem(sessions.sessionDirectories.sessionIds(), async (sessionId) => {
    const status = (await store.findSession(sessionId))?.status;
    if (status === "running" || status === "starting") return false;
    sessions.sessionDirectories.remove(sessionId);
    return true;
  });

/**
 * Cargo volumes of this instance that nothing owns: no row (a create that
 * died halfway), a deleted row, or the managed cargo of a deleted sandbox.
 */
export const orphanCargos: GcTask = async ({ store, driver, instanceId, pendingVolumes }, { now, orphanGraceMs, atStartup }) => {
  const volumes = await driver.listVolumes(instanceFilter(instanceId));
  const fromEngine = await forEachItem(volumes, async (volume) => {
    if (pendingVolumes.has(volume.name)) return false;
    if (volume.createdAt && now - volume.createdAt < orphanGraceMs) return false;
    const cargoId = volume.labels[LABEL.cargoId];
    const cargo = cargoId ? await store.findCargoById(cargoId) : undefined;
    if (cargo && !cargo.deletedAt) return false;
    await driver.removeVolume(volume.name);
    return true;
  });
  // A delete answered before its teardown (Prefer: respond-async, E2B's kill) is still removing the container that
  // mounts the volume: only deletes older than the grace count as cut short, except at start-up (as for containers).
  const deletedBefore = atStartup ? now : now - orphanGraceMs;
  const interruptedDeletes = await forEachItem(await store.managedCargosOfDeletedSandboxes(deletedBefore), async (cargo) => {
    await driver.removeVolume(cargo.volumeName);
    await store.markCargoDeleted(cargo.id, Date.now());
    return true;
  });
  return {
    cleaned: fromEngine.cleaned + interruptedDeletes.cleaned,
    skipped: fromEngine.skipped + interruptedDeletes.skipped,
    errors: [...fromEngine.errors, ...interruptedDeletes.errors],
  };
};

/** Idempotency keys past their TTL. */
export const expiredIdempotencyKeys: GcTask = async ({ idempotency }, { now }) => ({
  cleaned: await idempotency.removeExpired(now),
  skipped: 0,
  errors: [],
});

/** Tasks in the order a run performs them; the names are what /v1/admin/gc/run reports. */
export const GC_TASKS: Record<string, GcTask> = {
  idle_sessions: idleSessions,
  expired_sandboxes: expiredSandboxes,
  lost_sessions: lostSessions,
  orphan_containers: orphanContainers,
  orphan_session_directories: orphanSessionDirectories,
  orphan_cargos: orphanCargos,
  cargo_size_limits: cargoSizeLimits,
  expired_idempotency_keys: expiredIdempotencyKeys,
};

/** The tasks that act on deadlines; the collector wakes for these to honour them to the second. */
export const DEADLINE_TASKS = ["idle_sessions", "expired_sandboxes"];

/** shipyard-neo's names for the same tasks, accepted in a run's `tasks` so that its clients' requests work unchanged. */
export const NEO_TASK_NAMES: Record<string, string> = {
  idle_session: "idle_sessions",
  expired_sandbox: "expired_sandboxes",
  orphan_container: "orphan_containers",
  orphan_cargo: "orphan_cargos",
  orphan_workspace: "orphan_cargos",
};

export interface SelectedTask {
  /** The name the run reports: the one the caller asked for. */
  name: string;
  task: GcTask;
}

/**
 * The tasks a run performs, in the collector's order: all of them, or the
 * ones named (by Bay's or shipyard-neo's names). Unknown names are refused
 * rather than ignored, so that a typo does not pass for a run that cleaned nothing.
 */
export function selectTasks(names?: readonly string[]): SelectedTask[] {
  if (names === undefined) return Object.entries(GC_TASKS).map(([name, task]) => ({ name, task }));
  const unknown = names.filter((name) => !(name in GC_TASKS) && !(name in NEO_TASK_NAMES));
  if (unknown.length > 0) {
    throw new ValidationError(`unknown gc task ${unknown.map((name) => JSON.stringify(preview(name))).join(", ")}`, {
      field: "tasks",
      unknown: unknown.map((name) => preview(name)),
      valid: [...Object.keys(GC_TASKS), ...Object.keys(NEO_TASK_NAMES)],
    });
  }
  return Object.entries(GC_TASKS).flatMap(([canonical, task]) => {
    const asked = names.find((name) => (NEO_TASK_NAMES[name] ?? name) === canonical);
    return asked === undefined ? [] : [{ name: asked, task }];
  });
}
