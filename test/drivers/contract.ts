/**
 * The driver contract: everything Bay's core relies on from a driver
 * (src/core/driver.ts), as tests that every driver passes. Each driver's
 * test file calls describeDriverContract with a harness that supplies what
 * differs per engine: how to reach it, which image it has, and how the world
 * outside Bay kills or freezes a container.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { AgentClient } from "../../src/core/agent-client.ts";
import { loadBayConfig } from "../../src/composition/bay.ts";
import { buildContainerSpec } from "../../src/core/container-spec.ts";
import { SessionDirectories } from "../../src/core/session-directories.ts";
import type { ContainerEndEvent, ContainerInfo, Driver, EventSubscription, Labels, SessionContainerSpec, StartedContainer } from "../../src/core/driver.ts";
import { LABEL, volumeName } from "../../src/core/labels.ts";
import {
  AGENT_API_VERSION,
  AGENT_DEFAULT_PORT,
  AGENT_SOCKET_NAME,
  WORKSPACE_MOUNT_PATH,
  type AgentMeta,
} from "../../src/shared/agent-protocol.ts";
import { BayError } from "../../src/shared/errors.ts";
import { rejectionOf } from "../helpers/thrown.ts";

/** What differs per driver. */
export interface DriverHarness<D extends Driver = Driver> {
  /** A driver on a reachable engine. */
  createDriver(): D;
  /** A driver whose engine cannot be reached at all. */
  createUnreachableDriver(): Driver;
  /** An image the engine has. */
  image: string;
  /** An image the engine does not have and will not fetch. */
  absentImage: string;
  agentBinaryPath: string;
  /** Kills a running container from outside Bay, as SIGKILL would. */
  kill(driver: D, containerId: string): Promise<void>;
  /** Freezes a running container from outside Bay (`docker pause`). */
  pause(driver: D, containerId: string): Promise<void>;
  /** How long a started container's agent and the engine's events may take to show up. */
  settleTimeoutMs: number;
  /** Removes whatever a failed test left with this instance id, behind the driver's back. */
  cleanup(instanceId: string): Promise<void>;
}

export interface SpecOptions {
  instanceId: string;
  image: string;
  agentBinaryPath: string;
  volumeName: string;
  /** The session's directory (token file, and the socket of network none) is made under this data directory. */
  dataDir: string;
  /** Network none: the agent listens on a socket in the session's directory. */
  isolated?: boolean;
}

/** The profile every contract session runs: the built-in one's defaults, on the harness's image. */
const CONTRACT_PROFILE = loadBayConfig({ env: {} }).profiles[0]!;

/** A spec exactly as the session manager builds it (buildContainerSpec), for a session of its own on the given volume. */
export function sessionContainerSpec(options: SpecOptions): SessionContainerSpec & { token: string; sessionId: string } {
  const sessionId = `session-${randomBytes(6).toString("hex")}`;
  const token = randomBytes(16).toString("hex");
  const spec = buildContainerSpec({
    instanceId: options.instanceId,
    sandbox: { id: `sandbox-${randomBytes(6).toString("hex")}`, owner: "contract", cargoId: `ws-${randomBytes(6).toString("hex")}` },
    session: { id: sessionId },
    profile: { ...CONTRACT_PROFILE, image: options.image },
    network: options.isolated ? { kind: "none" } : { kind: "internet" },
    agentBinaryPath: options.agentBinaryPath,
    agent: { port: AGENT_DEFAULT_PORT, maxOutputBytes: 1024 * 1024 },
    sessionDir: new SessionDirectories(options.dataDir).create(sessionId, token),
  });
  return { ...spec, volumeName: options.volumeName, sessionId, token };
}

/** A request to an agent endpoint (http:// or unix://), with the session token or none. */
async function agentRequest(endpoint: string, path: string, token?: string): Promise<Response> {
  const unix = endpoint.startsWith("unix://") ? endpoint.slice("unix://".length) : undefined;
  return fetch(`${unix ? "http://agent" : endpoint}${path}`, {
    unix,
    headers: token ? { authorization: `Bearer ${token}` } : {},
    signal: AbortSignal.timeout(10_000),
  });
}

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(50);
  }
}

/** The ends one subscription heard, as they came. */
class EndRecorder {
  readonly ends: ContainerEndEvent[] = [];
  subscription?: EventSubscription;

  static async watch(driver: Driver, labels: Labels): Promise<EndRecorder> {
    const recorder = new EndRecorder();
    recorder.subscription = await driver.watchContainerEnds(labels, (event) => recorder.ends.push(event), () => undefined);
    return recorder;
  }

  idsHeard(): string[] {
    return this.ends.map((event) => event.containerId);
  }
}

export function describeDriverContract<D extends Driver>(name: string, makeHarness: () => DriverHarness<D>): void {
  describe(`the ${name} driver contract`, () => {
    const instanceId = `test-${randomBytes(4).toString("hex")}`;
    const instanceLabels: Labels = { [LABEL.managed]: "true", [LABEL.instanceId]: instanceId };
    let harness: DriverHarness<D>;
    let driver: D;
    let dataDir: string;

    beforeAll(() => {
      harness = makeHarness();
      driver = harness.createDriver();
      dataDir = mkdtempSync(join(tmpdir(), "bay-contract-"));
    });

    afterAll(async () => {
      for (const container of await driver.listContainers(instanceLabels).catch(() => [])) {
        await driver.removeContainer(container.id).catch(() => undefined);
      }
      for (const volume of await driver.listVolumes(instanceLabels).catch(() => [])) {
        await driver.removeVolume(volume.name).catch(() => undefined);
      }
      await harness.cleanup(instanceId);
      await driver.close?.();
      rmSync(dataDir, { recursive: true, force: true });
    });

    /** A fresh labelled volume of this instance. */
    async function labelledVolume(extra: Labels = {}): Promise<{ name: string; labels: Labels }> {
      const name = volumeName(`contract-${randomBytes(6).toString("hex")}`);
      const labels = { ...instanceLabels, [LABEL.cargoId]: name, ...extra };
      await driver.createVolume(name, labels);
      return { name, labels };
    }

    /** Starts a session container on a fresh volume and waits until its agent answers /health. */
    async function startSession(options: { isolated?: boolean } = {}) {
      const volume = await labelledVolume();
      const spec = sessionContainerSpec({
        instanceId,
        image: harness.image,
        agentBinaryPath: harness.agentBinaryPath,
        volumeName: volume.name,
        dataDir,
        isolated: options.isolated,
      });
      const started = await driver.startSessionContainer(spec);
      const client = new AgentClient(started.endpoint, spec.token);
      await until("the agent to answer /health", () => client.health(1000), harness.settleTimeoutMs);
      return { spec, started, volume };
    }

    describe("the engine", () => {
      test("ping resolves while the engine is reachable", async () => {
        expect(await driver.ping()).toBeUndefined();
      });

      test("names its endpoint and a positive deadline for one call", () => {
        expect(driver.endpoint).toBeString();
        expect(driver.endpoint.length).toBeGreaterThan(0);
        expect(driver.callDeadlineMs).toBeGreaterThan(0);
        expect(Number.isFinite(driver.callDeadlineMs)).toBe(true);
      });

      test("an unreachable engine fails ping and listings with driver_unavailable naming its endpoint", async () => {
        const unreachable = harness.createUnreachableDriver();
        try {
          for (const call of [() => unreachable.ping(), () => unreachable.listContainers(instanceLabels), () => unreachable.listVolumes(instanceLabels)]) {
            const error = await rejectionOf(call());
            expect(error).toBeInstanceOf(BayError);
            expect((error as BayError).code).toBe("driver_unavailable");
            expect((error as BayError).details.endpoint).toBe(unreachable.endpoint);
          }
        } finally {
          await unreachable.close?.();
        }
      });
    });

    describe("volumes", () => {
      test("a volume created with labels is listed by them, with its labels, and not by another value", async () => {
        const volume = await labelledVolume({ [LABEL.owner]: "contract-owner" });
        const found = await driver.listVolumes({ ...instanceLabels, [LABEL.cargoId]: volume.name });
        expect(found.map((v) => v.name)).toEqual([volume.name]);
        expect(found[0]!.labels).toMatchObject(volume.labels);
        expect(found[0]!.createdAt).toBeGreaterThanOrEqual(0);
        const byOtherValue = await driver.listVolumes({ ...instanceLabels, [LABEL.cargoId]: volume.name, [LABEL.owner]: "someone-else" });
        expect(byOtherValue).toEqual([]);
        await driver.removeVolume(volume.name);
      });

      test("removal is idempotent: the volume leaves the listing, and removing it again or one that never existed succeeds", async () => {
        const volume = await labelledVolume();
        await driver.removeVolume(volume.name);
        expect(await driver.listVolumes({ ...instanceLabels, [LABEL.cargoId]: volume.name })).toEqual([]);
        await driver.removeVolume(volume.name);
        await driver.removeVolume(volumeName(`never-${randomBytes(6).toString("hex")}`));
      });

      test("volumeSizes measures only the volumes asked about, in bytes ≥ 0", async () => {
        const asked = await labelledVolume();
        const notAsked = await labelledVolume();
        const absent = volumeName(`never-${randomBytes(6).toString("hex")}`);
        const sizes = await driver.volumeSizes([asked.name, absent]);
        expect([...sizes.keys()]).toEqual([asked.name]);
        expect(sizes.get(asked.name)).toBeGreaterThanOrEqual(0);
        expect(sizes.has(notAsked.name)).toBe(false);
        await driver.removeVolume(asked.name);
        await driver.removeVolume(notAsked.name);
      });
    });

    describe("a session container", () => {
      let session: Awaited<ReturnType<typeof startSession>>;

      beforeAll(async () => {
        session = await startSession();
      });

      test("its agent answers /health without a token, and /meta only with the session's token", async () => {
        const { started, spec } = session;
        expect(started.containerId).toBeString();
        expect((await agentRequest(started.endpoint, "/health")).status).toBe(200);
        expect((await agentRequest(started.endpoint, "/meta")).status).toBe(401);
        expect((await agentRequest(started.endpoint, "/meta", "not-the-token")).status).toBe(401);
        const answer = await agentRequest(started.endpoint, "/meta", spec.token);
        expect(answer.status).toBe(200);
        const meta = (await answer.json()) as AgentMeta;
        expect(meta.runtime.api_version).toBe(AGENT_API_VERSION);
        expect(meta.workspace.mount_path).toBe(WORKSPACE_MOUNT_PATH);
      });

      test("inspection shows it running, with the spec's name and labels and its creation time", async () => {
        const info = (await driver.inspectContainer(session.started.containerId)) as ContainerInfo;
        expect(info).not.toBeNull();
        expect(info.id).toBe(session.started.containerId);
        expect(info.name).toBe(session.spec.name);
        expect(info.labels).toMatchObject(session.spec.labels);
        expect(info.running).toBe(true);
        expect(info.paused ?? false).toBe(false);
        expect(info.createdAt).toBeGreaterThan(0);
        expect((await driver.inspectContainer(session.spec.name))?.id).toBe(info.id);
      });

      test("it is listed by its labels, running, and not by another label value", async () => {
        const found = await driver.listContainers(session.spec.labels);
        expect(found.map((c) => c.id)).toEqual([session.started.containerId]);
        expect(found[0]!.name).toBe(session.spec.name);
        expect(found[0]!.labels).toMatchObject(session.spec.labels);
        expect(found[0]!.running).toBe(true);
        expect(await driver.listContainers({ ...session.spec.labels, [LABEL.sessionId]: "another-session" })).toEqual([]);
      });

      test("its volume cannot be removed while the container exists", async () => {
        const error = await rejectionOf(driver.removeVolume(session.volume.name));
        expect(error).toBeInstanceOf(BayError);
        expect((await driver.listVolumes({ ...instanceLabels, [LABEL.cargoId]: session.volume.name })).length).toBe(1);
      });

      test("a second start under a name in use fails with a BayError and leaves the first container running", async () => {
        const spec = { ...session.spec, labels: { ...session.spec.labels, [LABEL.sessionId]: "same-name" } };
        expect(await rejectionOf(driver.startSessionContainer(spec))).toBeInstanceOf(BayError);
        expect(await driver.listContainers(spec.labels)).toEqual([]);
        expect((await driver.inspectContainer(session.spec.name))?.id).toBe(session.started.containerId);
        expect((await driver.inspectContainer(session.spec.name))?.running).toBe(true);
      });

      test("readLogs never fails: a string, empty for a container that does not exist or an engine that cannot be reached", async () => {
        expect(await driver.readLogs(session.started.containerId, 20)).toBeString();
        expect(await driver.readLogs(`bay-session-never-${randomBytes(6).toString("hex")}`, 20)).toBe("");
        const unreachable = harness.createUnreachableDriver();
        expect(await unreachable.readLogs(session.started.containerId, 20)).toBe("");
        await unreachable.close?.();
      });

      test("removal ends and removes it: inspection answers null, the listing omits it, removing again succeeds", async () => {
        const { started, spec } = session;
        await driver.removeContainer(started.containerId);
        expect(await driver.inspectContainer(started.containerId)).toBeNull();
        expect(await driver.inspectContainer(spec.name)).toBeNull();
        expect(await driver.listContainers(spec.labels)).toEqual([]);
        expect(await new AgentClient(started.endpoint, spec.token).health(1000)).toBe(false);
        await driver.removeContainer(started.containerId);
        await driver.removeContainer(spec.name);
        await driver.removeVolume(session.volume.name);
      });
    });

    test("a start whose image is absent fails with a BayError naming the image and leaves no container", async () => {
      const volume = await labelledVolume();
      const spec = sessionContainerSpec({ instanceId, image: harness.absentImage, agentBinaryPath: harness.agentBinaryPath, volumeName: volume.name, dataDir });
      const error = await rejectionOf(driver.startSessionContainer(spec));
      expect(error).toBeInstanceOf(BayError);
      expect((error as BayError).details.image).toBe(harness.absentImage);
      expect(await driver.listContainers(spec.labels)).toEqual([]);
      expect(await driver.inspectContainer(spec.name)).toBeNull();
      await driver.removeVolume(volume.name);
    });

    test('network "none": the agent answers on a unix socket in the session\'s directory', async () => {
      const { started, spec, volume } = await startSession({ isolated: true });
      expect(started.endpoint).toBe(`unix://${spec.sessionDir}/${AGENT_SOCKET_NAME}`);
      expect(await new AgentClient(started.endpoint, spec.token).health(5000)).toBe(true);
      expect((await agentRequest(started.endpoint, "/meta", spec.token)).status).toBe(200);
      await driver.removeContainer(started.containerId);
      await driver.removeVolume(volume.name);
    });

    describe("container ends", () => {
      type Role = "killed" | "afterClose" | "removed" | "paused";
      /** One container per test, all started before the subscriptions open; filled by beforeAll. */
      const sessions = {} as Record<Role, Awaited<ReturnType<typeof startSession>>>;
      let everything: EndRecorder;
      let onlyKilled: EndRecorder;
      let onlyAfterClose: EndRecorder;
      /** Matches every end, but is closed after the first. */
      let closedEarly: EndRecorder;
      const heard = (recorder: EndRecorder, started: StartedContainer) => () => recorder.idsHeard().includes(started.containerId);

      beforeAll(async () => {
        const names: Role[] = ["killed", "afterClose", "removed", "paused"];
        const started = await Promise.all(names.map(() => startSession()));
        names.forEach((name, i) => (sessions[name] = started[i]!));
        everything = await EndRecorder.watch(driver, instanceLabels);
        onlyKilled = await EndRecorder.watch(driver, sessions.killed.spec.labels);
        onlyAfterClose = await EndRecorder.watch(driver, sessions.afterClose.spec.labels);
        closedEarly = await EndRecorder.watch(driver, instanceLabels);
      });

      afterAll(() => {
        for (const recorder of [everything, onlyKilled, onlyAfterClose, closedEarly]) recorder?.subscription?.close();
      });

      test("a killed container is reported to each subscription its labels match, with its id, labels and a reason", async () => {
        const { started, spec } = sessions.killed;
        await harness.kill(driver, started.containerId);
        const recorders = [everything, onlyKilled, closedEarly];
        await until("the kill to be reported", () => recorders.every((recorder) => heard(recorder, started)()), harness.settleTimeoutMs);
        for (const recorder of recorders) {
          const [event, ...more] = recorder.ends;
          expect(more).toEqual([]);
          expect(event!.containerId).toBe(started.containerId);
          expect(event!.labels).toMatchObject(spec.labels);
          expect(event!.reason).toBeString();
          expect(event!.reason.length).toBeGreaterThan(0);
        }
      });

      test("a killed container inspects as not running, with exit code 137 and the time it ended", async () => {
        const info = (await driver.inspectContainer(sessions.killed.started.containerId)) as ContainerInfo;
        expect(info.running).toBe(false);
        expect(info.exitCode).toBe(137);
        expect(info.finishedAt).toBeGreaterThanOrEqual(info.createdAt);
        const listed = await driver.listContainers(sessions.killed.spec.labels);
        expect(listed.map((c) => [c.id, c.running])).toEqual([[info.id, false]]);
      });

      test("each end is reported once, only where the labels match, and never after the subscription is closed", async () => {
        closedEarly.subscription!.close();
        const { started } = sessions.afterClose;
        await harness.kill(driver, started.containerId);
        await until("the second kill to be reported", () => heard(everything, started)() && heard(onlyAfterClose, started)(), harness.settleTimeoutMs);
        // Each stream delivers in order: an earlier end reported twice, or to the wrong subscription, would be here by now.
        expect(everything.idsHeard()).toEqual([sessions.killed.started.containerId, started.containerId]);
        expect(onlyAfterClose.idsHeard()).toEqual([started.containerId]);
        expect(onlyKilled.idsHeard()).toEqual([sessions.killed.started.containerId]);
        expect(closedEarly.idsHeard()).toEqual([sessions.killed.started.containerId]);
      });

      test("removing a running container is reported as its end", async () => {
        const { started, spec } = sessions.removed;
        await driver.removeContainer(started.containerId);
        await until("the removal to be reported", heard(everything, started), harness.settleTimeoutMs);
        const event = everything.ends.find((e) => e.containerId === started.containerId)!;
        expect(event.labels).toMatchObject(spec.labels);
        expect(event.reason.length).toBeGreaterThan(0);
      });

      test("a frozen container inspects as running and paused, and can be removed", async () => {
        const { started, spec } = sessions.paused;
        await harness.pause(driver, started.containerId);
        const info = (await driver.inspectContainer(started.containerId)) as ContainerInfo;
        expect(info.running).toBe(true);
        expect(info.paused).toBe(true);
        expect(await new AgentClient(started.endpoint, spec.token).health(1000)).toBe(false);
        await driver.removeContainer(started.containerId);
        expect(await driver.inspectContainer(started.containerId)).toBeNull();
      });
    });
  });
}
