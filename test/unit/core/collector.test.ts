import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Labels, SessionContainerSpec } from "../../../src/core/driver.ts";
import type { GcRunReport } from "../../../src/core/gc/collector.ts";
import { bayLabels, containerName, LABEL, volumeName } from "../../../src/core/labels.ts";
import { newId } from "../../../src/core/ids.ts";
import { SessionDirectories } from "../../../src/core/session-directories.ts";
import { NotFoundError } from "../../../src/shared/errors.ts";
import { rejectedWith, thrownBy } from "../../helpers/thrown.ts";
import { OWNER, execPython, useUnitBays, type UnitBay } from "./unit-bay.ts";

const startBay = useUnitBays();

/** What one task of a run did. */
function cleanedBy(report: GcRunReport, task: string): number {
  const result = report.results.find((r) => r.task_name === task);
  expect(result?.errors).toEqual([]);
  return result!.cleaned_count;
}

/** A container started straight on the driver, as a crashed Bay or another instance leaves one. */
async function strayContainer(bay: UnitBay, labels: Labels): Promise<string> {
  const sessionId = labels[LABEL.sessionId] ?? newId("session");
  const spec: SessionContainerSpec = {
    name: containerName(sessionId),
    image: "unit/python:1",
    labels,
    env: {},
    sessionDir: new SessionDirectories(bay.dataDir).create(sessionId, "stray-token"),
    volumeName: volumeName(newId("cargo")),
    agentBinaryPath: process.execPath,
    agentPort: 8123,
    agentArgs: ["ship"],
    resources: { nanoCpus: 1e9, memoryBytes: 1 << 30, pidsLimit: 512 },
    network: { kind: "internet" },
    hardening: { readOnlyRootfs: true, noNewPrivileges: true, extraCapabilities: [], tmpSize: "256m" },
    runtime: "runc",
  };
  return (await bay.driver.startSessionContainer(spec)).containerId;
}

const ours = (bay: UnitBay, sessionId = newId("session")) =>
  bayLabels({ instanceId: bay.core.instanceId, owner: OWNER, sessionId, sandboxId: newId("sandbox") });
const anotherInstance = () => bayLabels({ instanceId: "another-bay", owner: OWNER, sessionId: newId("session") });

/** A sandbox whose compute runs. */
async function runningSandbox(bay: UnitBay) {
  const sandbox = await bay.core.sandboxes.create(OWNER, {});
  expect((await execPython(bay, sandbox.id)).status).toBe(200);
  return { sandbox, session: (await bay.store.activeSession(sandbox.id))! };
}

const containerIds = (bay: UnitBay) => bay.driver.containers.map((container) => container.id);
const volumeNames = (bay: UnitBay) => bay.driver.volumes.map((volume) => volume.name);

describe("collector: orphans", () => {
  test("containers of this instance that no live session owns are removed; live ones and other instances' stay", async () => {
    const bay = await startBay();
    const live = await runningSandbox(bay);
    const { session: interrupted } = await runningSandbox(bay);
    // A stop that marked its session but died before removing the container.
    await bay.store.markSessionStopped(interrupted.id, Date.now(), "stopped");
    const unknown = await strayContainer(bay, ours(bay));
    const foreign = await strayContainer(bay, anotherInstance());

    const report = await bay.core.collector.run({ tasks: ["orphan_containers"] });
    expect(cleanedBy(report, "orphan_containers")).toBe(2);
    const left = containerIds(bay);
    expect(left).toContain(live.session.containerId!);
    expect(left).toContain(foreign);
    expect(left).not.toContain(unknown);
    expect(left).not.toContain(interrupted.containerId!);
  });

  test("an orphan younger than orphan_grace_seconds is left, except at start-up, when no create can be in flight", async () => {
    const bay = await startBay({ config: { gc: { orphan_grace_seconds: 3600 } } });
    const young = await strayContainer(bay, ours(bay));
    expect(cleanedBy(await bay.core.collector.run({ tasks: ["orphan_containers"] }), "orphan_containers")).toBe(0);
    expect(containerIds(bay)).toEqual([young]);
    expect(cleanedBy(await bay.core.collector.run({ tasks: ["orphan_containers"], atStartup: true }), "orphan_containers")).toBe(1);
    expect(containerIds(bay)).toEqual([]);
  });

  test("a deleted sandbox's managed cargo is the collector's only once its teardown had the grace to finish (a delete answered early)", async () => {
    const bay = await startBay({ config: { gc: { orphan_grace_seconds: 3600 } } });
    const sandbox = await bay.core.sandboxes.create(OWNER, {});
    // As a delete answered before its teardown leaves it, while that teardown still runs.
    await bay.store.markSandboxDeleted(sandbox.id, Date.now());
    expect(cleanedBy(await bay.core.collector.run({ tasks: ["orphan_cargos"] }), "orphan_cargos")).toBe(0);
    expect(volumeNames(bay)).toEqual([volumeName(sandbox.cargo_id)]);
    // At start-up no teardown of this process can be at work: the delete was cut short, and the cargo goes.
    expect(cleanedBy(await bay.core.collector.run({ tasks: ["orphan_cargos"], atStartup: true }), "orphan_cargos")).toBe(1);
    expect(volumeNames(bay)).toEqual([]);
  });

  test("session directories whose session holds no compute are removed (ended elsewhere, unknown); a running session's stays", async () => {
    const bay = await startBay();
    const live = await runningSandbox(bay);
    const { session: endedElsewhere } = await runningSandbox(bay);
    // As another replica ends it: the row says stopped, and this data_dir is beyond that replica's reach.
    await bay.store.markSessionStopped(endedElsewhere.id, Date.now(), "stopped");
    const unknown = newId("session");
    bay.core.sessions.sessionDirectories.create(unknown, "stray-token");
    const directory = (sessionId: string) => join(bay.dataDir, "sessions", sessionId);
    expect([live.session.id, endedElsewhere.id, unknown].map((id) => existsSync(directory(id)))).toEqual([true, true, true]);

    expect(cleanedBy(await bay.core.collector.run({ tasks: ["orphan_session_directories"] }), "orphan_session_directories")).toBe(2);
    expect([live.session.id, endedElsewhere.id, unknown].map((id) => existsSync(directory(id)))).toEqual([true, false, false]);
    // The running session still answers with the token it was given.
    expect((await execPython(bay, live.sandbox.id)).status).toBe(200);
  });

  test("cargo volumes of this instance without a live row are removed; live cargos and other instances' stay", async () => {
    const bay = await startBay();
    const sandbox = await bay.core.sandboxes.create(OWNER, {});
    const cargo = await bay.core.cargos.create(OWNER, {});
    const unknown = volumeName(newId("cargo"));
    await bay.driver.createVolume(unknown, bayLabels({ instanceId: bay.core.instanceId, owner: OWNER, cargoId: newId("cargo") }));
    const foreign = volumeName(newId("cargo"));
    await bay.driver.createVolume(foreign, bayLabels({ instanceId: "another-bay", owner: OWNER, cargoId: newId("cargo") }));

    expect(cleanedBy(await bay.core.collector.run({ tasks: ["orphan_cargos"] }), "orphan_cargos")).toBe(1);
    expect(volumeNames(bay).sort()).toEqual([volumeName(sandbox.cargo_id), volumeName(cargo.id), foreign].sort());
  });
});

describe("collector: deadlines", () => {
  test("sessions idle past idle_expires_at lose their container and keep their cargo; one with a call in flight stays", async () => {
    const bay = await startBay();
    const idle = await runningSandbox(bay);
    const busy = await runningSandbox(bay);
    const callDone = Promise.withResolvers<void>();
    const inFlight = bay.core.sandboxes.withAgent(OWNER, busy.sandbox.id, "python", () => callDone.promise);
    for (const { session } of [idle, busy]) await bay.store.updateSession(session.id, { idleExpiresAt: Date.now() - 1 });

    expect(cleanedBy(await bay.core.collector.run({ tasks: ["idle_sessions"] }), "idle_sessions")).toBe(1);
    expect((await bay.store.findSession(idle.session.id))?.endReason).toBe("idle");
    expect(bay.driver.containersOf(idle.sandbox.id)).toEqual([]);
    expect(volumeNames(bay)).toContain(volumeName(idle.sandbox.cargo_id));
    expect((await bay.core.sandboxes.get(OWNER, idle.sandbox.id)).status).toBe("idle");
    expect((await bay.store.findSession(busy.session.id))?.status).toBe("running");
    expect(bay.driver.containersOf(busy.sandbox.id)).toHaveLength(1);
    callDone.resolve();
    await inFlight;
  });

  test("expired sandboxes are deleted with their compute and managed cargo; an attached external cargo and live sandboxes stay", async () => {
    const bay = await startBay();
    const expired = await runningSandbox(bay);
    const external = await bay.core.cargos.create(OWNER, {});
    const onExternal = await bay.core.sandboxes.create(OWNER, { cargo_id: external.id });
    const live = await runningSandbox(bay);
    for (const id of [expired.sandbox.id, onExternal.id]) await bay.store.setExpiry(id, Date.now() - 1);

    expect(cleanedBy(await bay.core.collector.run({ tasks: ["expired_sandboxes"] }), "expired_sandboxes")).toBe(2);
    for (const id of [expired.sandbox.id, onExternal.id]) {
      expect((await rejectedWith(NotFoundError, bay.core.sandboxes.get(OWNER, id))).code).toBe("not_found");
    }
    expect(bay.driver.containersOf(expired.sandbox.id)).toEqual([]);
    expect((await bay.store.findSession(expired.session.id))?.endReason).toBe("expired");
    expect(volumeNames(bay).sort()).toEqual([volumeName(external.id), volumeName(live.sandbox.cargo_id)].sort());
    expect((await bay.core.sandboxes.get(OWNER, live.sandbox.id)).status).toBe("ready");
  });
});

describe("collector: lost sessions", () => {
  test("a running session whose container is gone or frozen ends as died, with the reason shown; healthy ones stay", async () => {
    const bay = await startBay();
    const gone = await runningSandbox(bay);
    const frozen = await runningSandbox(bay);
    const healthy = await runningSandbox(bay);
    // No engine watcher runs: only the collector can notice.
    await bay.driver.removeContainer(gone.session.containerId!);
    bay.driver.pauseContainer(frozen.session.containerId!);

    expect(cleanedBy(await bay.core.collector.run({ tasks: ["lost_sessions"] }), "lost_sessions")).toBe(2);
    expect((await bay.core.sandboxes.get(OWNER, gone.sandbox.id)).state_reset_reason).toBe("container disappeared");
    expect((await bay.core.sandboxes.get(OWNER, frozen.sandbox.id)).state_reset_reason).toBe("container paused: its agent could not answer");
    for (const lost of [gone, frozen]) {
      expect((await bay.store.findSession(lost.session.id))?.endReason).toBe("died");
      expect(bay.driver.containersOf(lost.sandbox.id)).toEqual([]);
    }
    expect((await bay.core.sandboxes.get(OWNER, healthy.sandbox.id)).status).toBe("ready");
    // The next call recovers on a new container.
    expect((await execPython(bay, gone.sandbox.id)).status).toBe(200);
  });

  test("a session left starting by a replica that is gone is abandoned and its container removed; a live replica's start is left alone", async () => {
    const bay = await startBay();
    const { sandbox, session } = await runningSandbox(bay);
    // Starting by this process: its start goes on.
    await bay.store.updateSession(session.id, { status: "starting" });
    expect(cleanedBy(await bay.core.collector.run({ tasks: ["lost_sessions"] }), "lost_sessions")).toBe(0);
    // Starting by a replica that never beat (or stopped beating long ago).
    await bay.store.updateSession(session.id, { replicaId: "gone-host-4242-abcdef" });
    expect(cleanedBy(await bay.core.collector.run({ tasks: ["lost_sessions"] }), "lost_sessions")).toBe(1);
    expect((await bay.store.findSession(session.id))?.endReason).toBe("abandoned");
    expect(bay.driver.containersOf(sandbox.id)).toEqual([]);
  });
});
