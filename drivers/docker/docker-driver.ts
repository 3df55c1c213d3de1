import { join } from "node:path";
import { consola } from "consola";
import Docker from "dockerode";
import {
  AGENT_CAPABILITIES,
  AGENT_SESSION_DIR,
  AGENT_SOCKET_NAME,
  AgentError,
  BayError,
  ConfigError,
  LABEL,
  WORKSPACE_MOUNT_PATH,
  describeContainerEnd,
  logProgress,
  timed,
  type ContainerEndEvent,
  type ContainerInfo,
  type Driver,
  type EventSubscription,
  type Labels,
  type SandboxRuntime,
  type SessionContainerSpec,
  type StartedContainer,
  type VolumeInfo,
} from "../../src/kit/driver.ts";
import { describePlacement, engineBridgesLocal, inOwnNetworkNamespace, resolveConnectMode, type ConnectMode } from "./connect-mode.ts";
import { EgressFirewall, runOnThisHost, type CommandRunner } from "./egress-firewall.ts";
import { demultiplexLogs } from "./engine-streams.ts";
import { EngineTimeoutError, ImageUnavailableError, RuntimeUnavailableError, engineFailure, engineMessage, statusOf, type EngineCall } from "./errors.ts";
import { HostNetworkShell } from "./host-network-shell.ts";
import { HostPaths, type StagedVersion } from "./host-paths.ts";
import { NetworkSlots, SLOT_LABEL, type NetworkSlot, type SlotTemplate } from "./network-slots.ts";
import { holderProgram, nativeSlotHolder } from "./slot-holder.ts";
import { GVISOR_PRELOAD_LIST, gvisorStatxBinds, gvisorStatxShim } from "./gvisor-statx.ts";
import { removeOlderVersions } from "./staged-versions.ts";
import { findOwnContainer, type OwnContainer } from "./own-container.ts";
import { PolicyNetworks, type PolicyNetwork } from "./policy-networks.ts";
import { SandboxAccountFiles, type AccountFiles } from "./sandbox-user-files.ts";
import type { DockerSettings } from "./settings.ts";

export const AGENT_PATH_IN_CONTAINER = "/opt/bay/bay";

/** The container log holds the agent's own lines and whatever user code writes to fd 1/2: capped. */
const CONTAINER_LOG_MAX_SIZE = "1m";

/** An address of the documentation range (RFC 5737) where no resolver answers. */
const NO_RESOLVER = "192.0.2.53";

/** A long-lived answer of the engine (events, pull progress), as dockerode hands it over. */
type EngineStream = NodeJS.ReadableStream & { destroy?: () => void };
/** Closes a long-lived answer that arrived after its call's deadline, unread. */
const closeLateStream = (late: unknown) => (late as EngineStream).destroy?.();

/** /health's ping and start-up's probes must answer within seconds, whatever the engine timeout. */
const PROBE_TIMEOUT_MS = 2500;
/** A pull is exempt from the engine timeout, but not from a stall: this long without progress fails it. */
const PULL_STALL_MIN_MS = 60_000;
const REMOVAL_POLL_MS = 100;
/** Measuring volumes walks them all (`docker system df`): legitimately slow, so it gets this many engine timeouts. */
const MEASURE_TIMEOUT_FACTOR = 6;

/** Where Bay runs relative to the engine, and what follows from it; found once, at the first need. */
interface Placement {
  own: OwnContainer | null;
  connectMode: ConnectMode;
  hostPaths: HostPaths;
  /** Runs commands in the host's network namespace when Bay's container has its own. */
  hostNetworkShell: HostNetworkShell | null;
}

/** What Bay tells its driver besides the driver's own settings. */
export interface DockerDriverContext {
  /** Bay's data directory: where the driver keeps files it mounts into sandboxes. */
  dataDir?: string;
  environment?: Record<string, string | undefined>;
}

export class DockerDriver implements Driver {
  readonly name = "docker";
  readonly endpoint: string;
  private readonly docker: Docker;
  private placementFound: Promise<Placement> | null = null;
  /** `engine` as the driver's helpers take it. */
  private readonly engineCall: EngineCall = (action, call) => this.engine(action, call);
  private readonly firewall: EgressFirewall | null;
  private readonly dataDir: string | undefined;
  /** Where the files Bay brings into containers (the agent, the slot holder, the statx shim) are staged for the engine to mount. */
  private readonly stagingDir: string | undefined;
  private readonly networks: PolicyNetworks;
  private readonly accountFiles: SandboxAccountFiles;
  private readonly slots: NetworkSlots;
  private nativeHolder: Promise<string | null> | undefined;
  private gvisorStatxBinds: Promise<string[]> | undefined;
  /** Engine runtimes found registered (requireRuntime). */
  private readonly runtimesSeen = new Set<string>();
  private readonly timeoutMs: number;
  /** For calls that only probe the engine: the shorter of PROBE_TIMEOUT_MS and the engine timeout. */
  private readonly probeTimeoutMs: number;
  readonly callDeadlineMs: number;

  constructor(private readonly settings: DockerSettings, context: DockerDriverContext = {}) {
    const environment = context.environment ?? process.env;
    const defaultSocket = settings.socket === "/var/run/docker.sock";
    if (environment.DOCKER_HOST && defaultSocket) {
      this.docker = new Docker();
      this.endpoint = environment.DOCKER_HOST;
    } else {
      this.docker = new Docker({ socketPath: settings.socket });
      this.endpoint = `unix://${settings.socket}`;
    }
    this.timeoutMs = settings.engine_timeout_seconds * 1000;
    this.probeTimeoutMs = Math.min(PROBE_TIMEOUT_MS, this.timeoutMs);
    this.callDeadlineMs = this.timeoutMs;
    this.dataDir = context.dataDir;
    this.stagingDir = this.dataDir && join(this.dataDir, "agent");
    const onHost: CommandRunner = async (command, input) =>
      ((await this.placement()).hostNetworkShell?.run ?? runOnThisHost)(command, input);
    this.firewall = settings.egress_firewall === "iptables" ? new EgressFirewall({ extraDenied: settings.egress_deny, run: onHost }) : null;
    this.networks = new PolicyNetworks(this.docker, this.engineCall, this.firewall);
    this.accountFiles = new SandboxAccountFiles(
      this.docker,
      this.engineCall,
      this.dataDir ? join(this.dataDir, "account-files") : undefined,
    );
    this.slots = new NetworkSlots(this.docker, this.engineCall, settings.network_slots, (info, template) =>
      template.agentSocket ? null : agentEndpointOf(info, template.agentPort, template.network, template.publishOn),
    );
  }

  /**
   * Finds out now where Bay runs, so that a connect mode that cannot work
   * from there stops Bay at start-up; an engine that cannot be reached yet
   * is asked again at the first session start.
   */
  async prepare(runtimes: readonly SandboxRuntime[] = []): Promise<void> {
    try {
      await this.placement();
    } catch (error) {
      if (error instanceof BayError && error.details.reason === "connect_mode") {
        throw new ConfigError("driver.docker.connect_mode", error.message);
      }
    }
    for (const runtime of runtimes) {
      try {
        await this.requireRuntime(runtime);
      } catch (error) {
        // An engine that does not answer yet is asked again at the first start of such a sandbox.
        if (error instanceof RuntimeUnavailableError) throw new ConfigError("driver.docker.gvisor_runtime", error.message);
      }
    }
  }

  /** The engine's name of a profile's runtime; runc by name, so that an engine whose default is another still runs runc. */
  private engineRuntimeOf(runtime: SandboxRuntime): string {
    return runtime === "gvisor" ? this.settings.gvisor_runtime : "runc";
  }

  /** Fails unless the engine has the runtime registered; a positive answer is kept (runtimes are not unregistered under a running engine). */
  private async requireRuntime(runtime: SandboxRuntime): Promise<void> {
    const name = this.engineRuntimeOf(runtime);
    if (this.runtimesSeen.has(name)) return;
    const info = await this.engine("read the engine's runtimes", () => this.docker.info() as Promise<{ Runtimes?: Record<string, unknown> }>);
    const registered = Object.keys(info.Runtimes ?? {});
    if (!registered.includes(name)) throw new RuntimeUnavailableError(runtime, name, registered);
    this.runtimesSeen.add(name);
  }

  /** A long-lived Bay keeps network slots ready (network-slots.ts); a one-shot does not pay for them. */
  startBackground(): void {
    this.slots.start();
  }

  async close(): Promise<void> {
    await this.slots.close();
    const placement = await this.placementFound?.catch(() => null);
    await placement?.hostNetworkShell?.close();
  }

  private placement(): Promise<Placement> {
    this.placementFound ??= this.findPlacement().catch((error) => {
      // Asked again next time: the engine may only have been unreachable.
      this.placementFound = null;
      throw error;
    });
    return this.placementFound;
  }

  private async findPlacement(): Promise<Placement> {
    const own = await findOwnContainer(this.docker, this.engineCall);
    // Asked of the engine only where it can change auto's choice.
    const bridgesLocal = this.settings.connect_mode === "auto" && !inOwnNetworkNamespace(own) && engineBridgesLocal(await this.defaultBridgeName());
    const connectMode = resolveConnectMode(this.settings, own, bridgesLocal);
    consola.info(`docker driver: ${describePlacement(connectMode, own)}`);
    const hostPaths: HostPaths = new HostPaths(own && own.mounts, (staged) => void this.removeOlderVersions(staged, hostPaths));
    return {
      own,
      connectMode,
      hostPaths,
      hostNetworkShell: inOwnNetworkNamespace(own) ? new HostNetworkShell(this.docker, this.engineCall, own) : null,
    };
  }

  /** The interface of the engine's default bridge network, or null when the engine has none. A probe: a hung engine is not waited for as long as a call. */
  private defaultBridgeName(): Promise<string | null> {
    return this.engine(
      "inspect the default bridge network",
      async () => {
        try {
          const info = await this.docker.getNetwork("bridge").inspect();
          return info.Driver === "bridge" ? (info.Options?.["com.docker.network.bridge.name"] ?? "docker0") : null;
        } catch (error) {
          if (statusOf(error) === 404) return null;
          throw error;
        }
      },
      { timeoutMs: this.probeTimeoutMs },
    );
  }

  async ping(): Promise<void> {
    await this.engine("reach the engine", () => this.docker.ping(), { timeoutMs: this.probeTimeoutMs });
  }

  async createVolume(name: string, labels: Labels): Promise<void> {
    await this.engine("create a volume", () => this.docker.createVolume({ Name: name, Labels: labels }));
  }

  async removeVolume(name: string): Promise<void> {
    await this.engine("remove a volume", async () => {
      try {
        await this.docker.getVolume(name).remove();
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
      }
    });
  }

  async startSessionContainer(spec: SessionContainerSpec): Promise<StartedContainer> {
    const phase = phaseTimer(spec.onPhase);
    const placement = await this.placement();
    const policy = spec.network;
    const network = policy.kind === "none" ? null : await phase("network", () => this.networks.ensure(policy));
    if (network && placement.hostNetworkShell && placement.connectMode === "container_network") {
      await this.firewall?.admitControlPlane(placement.own!.networks.map((own) => own.bridge), spec.agentPort);
    }
    await phase("runtime", () => this.requireRuntime(spec.runtime));
    const imageId = await phase("image", () => this.ensureImage(spec.image, spec.onProgress));
    const agentBinary = placement.hostPaths.agentBinary(spec.agentBinaryPath, this.stagingDir);
    const template = this.slots.isActive() ? this.slotTemplate(spec, network, placement, agentBinary, await this.nativeHolderOnHost(placement)) : null;
    const slot = template && this.slots.claim(template);
    if (slot) {
      try {
        return await this.startContainer(spec, network, placement, phase, { imageId, agentBinary, slot });
      } catch (error) {
        // A holder that ended since it was made (removed by hand, an engine restart) must not fail the start.
        if (error instanceof BayError && error.code === "driver_unavailable") throw error;
        consola.warn(`docker driver: starting on network slot ${slot.holderId.slice(0, 12)} failed (${(error as Error).message}); starting without one`);
      }
    }
    return this.startContainer(spec, network, placement, phase, { imageId, agentBinary, slot: null });
  }

  private async startContainer(
    spec: SessionContainerSpec,
    network: PolicyNetwork | null,
    placement: Placement,
    phase: PhaseTimer,
    parts: ContainerParts,
  ): Promise<StartedContainer> {
    let container: Docker.Container;
    try {
      container = await this.createContainer(spec, network, placement, phase, parts);
    } catch (error) {
      if (parts.slot) await this.slots.remove(parts.slot.holderId).catch(() => undefined);
      throw error;
    }
    try {
      this.slots.noteJoined(container.id, parts.slot?.holderId ?? null);
      await phase("container-start", () => this.engine("start the container", () => container.start()));
      const socketEndpoint = `unix://${spec.sessionDir}/${AGENT_SOCKET_NAME}`;
      const endpoint = parts.slot
        ? (parts.slot.endpoint ?? socketEndpoint)
        : network === null
          ? socketEndpoint
          : await phase("endpoint", () => this.resolveEndpoint(container.id, spec.agentPort, network.name, placement.connectMode));
      return { containerId: container.id, endpoint };
    } catch (error) {
      await this.removeContainer(container.id).catch(() => undefined);
      throw error;
    }
  }

  /**
   * How a holder for this start's network is made, or null where a start
   * cannot join one: an allow list pins its names' addresses at each start.
   */
  private slotTemplate(
    spec: SessionContainerSpec,
    network: PolicyNetwork | null,
    placement: Placement,
    agentBinary: string,
    nativeHolder: string | null,
  ): SlotTemplate | null {
    if (spec.network.kind === "allow") return null;
    const labels = { [LABEL.managed]: "true", [LABEL.instanceId]: spec.labels[LABEL.instanceId] ?? "" };
    return {
      labels,
      network: network?.name ?? "none",
      image: spec.image,
      program: holderProgram(nativeHolder, agentBinary, AGENT_PATH_IN_CONTAINER),
      agentPort: spec.agentPort,
      agentSocket: network ? null : `${AGENT_SESSION_DIR}/${AGENT_SOCKET_NAME}`,
      publishOn: network && placement.connectMode === "host_port" ? this.settings.host_address : null,
      sysctls: network ? NO_IPV6 : undefined,
    };
  }

  /** After an upgrade staged a new version of an executable: the older copies no container mounts go. */
  private async removeOlderVersions(staged: StagedVersion, hostPaths: HostPaths): Promise<void> {
    try {
      const removed = await removeOlderVersions(this.docker, this.engineCall, staged, (path) => hostPaths.engineView(path));
      if (removed.length) consola.info(`docker driver: removed ${removed.length} older copy(ies) of ${staged.name} from ${staged.directory}`);
    } catch (error) {
      consola.warn(`docker driver: could not remove older copies of ${staged.name}: ${(error as Error).message}`);
    }
  }

  /** The native slot holder as the engine can mount it, staged once; null without one (holders then run `bay hold`). */
  private nativeHolderOnHost(placement: Placement): Promise<string | null> {
    this.nativeHolder ??= (async () => {
      const bytes = await nativeSlotHolder();
      if (!bytes || !this.stagingDir) return null;
      try {
        return placement.hostPaths.carriedFile(bytes, this.stagingDir, "slot-holder");
      } catch (error) {
        consola.warn(`docker driver: network slot holders run \`bay hold\`: ${(error as Error).message}`);
        return null;
      }
    })();
    return this.nativeHolder;
  }

  /**
   * The binds that preload the statx shim into a gVisor sandbox, staged once
   * (gvisor-statx.ts); none where the build carried no shim, said once.
   */
  private gvisorStatxBindsOnHost(placement: Placement): Promise<string[]> {
    this.gvisorStatxBinds ??= (async () => {
      const without = (reason: string) => {
        consola.warn(`docker driver: gVisor sandboxes run without the statx shim, so GNU coreutils' ls -l and stat fail in them: ${reason}`);
        return [];
      };
      const shim = await gvisorStatxShim();
      if (!shim) return without("this build carries none (it had no C compiler)");
      if (!this.stagingDir) return without("the driver has no data directory to stage it in");
      try {
        return gvisorStatxBinds(
          placement.hostPaths.carriedFile(shim, this.stagingDir, "gvisor-statx.so"),
          placement.hostPaths.carriedFile(GVISOR_PRELOAD_LIST, this.stagingDir, "gvisor-ld.so.preload", 0o644),
        );
      } catch (error) {
        return without((error as Error).message);
      }
    })();
    return this.gvisorStatxBinds;
  }

  /** Returns once the container is gone, also when an earlier removal (one that outlived its deadline) is still at work. */
  async removeContainer(idOrName: string): Promise<void> {
    // Known for the containers this process started; asked of the engine only for the others (a restart's adopted ones).
    const known = this.slots.takeHolderJoinedBy(idOrName);
    const holder = known === undefined ? await this.slotHolderOf(idOrName) : known;
    const alreadyInProgress = await this.engine("remove a container", async () => {
      try {
        await this.docker.getContainer(idOrName).remove({ force: true, v: false });
        return false;
      } catch (error) {
        if (statusOf(error) === 404) return false;
        if (statusOf(error) === 409) return true;
        throw error;
      }
    });
    if (alreadyInProgress) await this.untilContainerGone(idOrName);
    if (holder) await this.slots.remove(holder);
  }

  /** The network slot's holder whose namespace the container joined, if it did. */
  private async slotHolderOf(idOrName: string): Promise<string | null> {
    const mode = await this.engine("inspect a container", async () => {
      try {
        return (await this.docker.getContainer(idOrName).inspect()).HostConfig.NetworkMode ?? "";
      } catch (error) {
        if (statusOf(error) === 404) return "";
        throw error;
      }
    });
    return mode.startsWith(JOINED_PREFIX) ? mode.slice(JOINED_PREFIX.length) : null;
  }

  private async untilContainerGone(idOrName: string): Promise<void> {
    const deadline = Date.now() + this.timeoutMs;
    while ((await this.inspectContainer(idOrName)) !== null) {
      if (Date.now() >= deadline) throw new EngineTimeoutError(this.endpoint, "finish removing a container", this.timeoutMs);
      await Bun.sleep(REMOVAL_POLL_MS);
    }
  }

  async inspectContainer(idOrName: string): Promise<ContainerInfo | null> {
    return this.engine("inspect a container", async () => {
      try {
        const info = await this.docker.getContainer(idOrName).inspect();
        return {
          id: info.Id,
          name: info.Name.replace(/^\//, ""),
          labels: info.Config.Labels ?? {},
          running: info.State.Running,
          createdAt: Date.parse(info.Created),
          exitCode: info.State.ExitCode,
          oomKilled: info.State.OOMKilled,
          paused: info.State.Paused,
          finishedAt: engineTime(info.State.FinishedAt),
        };
      } catch (error) {
        if (statusOf(error) === 404) return null;
        throw error;
      }
    });
  }

  async readLogs(idOrName: string, tailLines: number): Promise<string> {
    try {
      const raw = await this.engine("read a container's logs", () =>
        this.docker.getContainer(idOrName).logs({ stdout: true, stderr: true, tail: tailLines, follow: false }),
      );
      return demultiplexLogs(Buffer.from(raw as unknown as Uint8Array));
    } catch {
      return "";
    }
  }

  async listContainers(labels: Labels): Promise<ContainerInfo[]> {
    const found = await this.engine("list containers", () =>
      this.docker.listContainers({ all: true, filters: { label: labelFilters(labels) } }),
    );
    // Network slots are the driver's own (network-slots.ts), no session's.
    return found.filter((c) => !(c.Labels && SLOT_LABEL in c.Labels)).map((c) => ({
      id: c.Id,
      name: (c.Names[0] ?? "").replace(/^\//, ""),
      labels: c.Labels ?? {},
      running: c.State === "running",
      createdAt: c.Created * 1000,
    }));
  }

  async listVolumes(labels: Labels): Promise<VolumeInfo[]> {
    const found = await this.engine("list volumes", () =>
      this.docker.listVolumes({ filters: { label: labelFilters(labels) } }),
    );
    return (found.Volumes ?? []).map((v) => ({
      name: v.Name,
      labels: v.Labels ?? {},
      createdAt: Date.parse((v as { CreatedAt?: string }).CreatedAt ?? "") || 0,
    }));
  }

  /** The engine walks the volumes itself (`docker system df`); a volume it did not measure is left out. */
  async volumeSizes(names: string[]): Promise<Map<string, number>> {
    const wanted = new Set(names);
    const usage = await this.engine(
      "measure volumes",
      () => this.docker.df() as Promise<{ Volumes?: Array<{ Name: string; UsageData?: { Size?: number } }> }>,
      { timeoutMs: this.timeoutMs * MEASURE_TIMEOUT_FACTOR },
    );
    const sizes = new Map<string, number>();
    for (const volume of usage.Volumes ?? []) {
      const size = volume.UsageData?.Size ?? -1;
      if (wanted.has(volume.Name) && size >= 0) sizes.set(volume.Name, size);
    }
    return sizes;
  }

  async watchContainerEnds(
    labels: Labels,
    onEnd: (event: ContainerEndEvent) => void,
    onClosed: (error?: Error) => void,
  ): Promise<EventSubscription> {
    // Only the answer's start has a deadline; a stream that arrives after it is closed unread.
    const stream = (await this.engine(
      "watch container events",
      () => this.docker.getEvents({ filters: { type: ["container"], event: ["die", "oom", "kill"], label: labelFilters(labels) } }),
      { discardLate: closeLateStream },
    )) as EngineStream;
    const endings = new Map<string, { outOfMemory?: boolean; killSignal?: string }>();
    let buffered = "";
    let closed = false;
    const close = (error?: Error) => {
      if (closed) return;
      closed = true;
      onClosed(error);
    };
    stream.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("utf8");
      let newline: number;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (!line) continue;
        const event = parseEngineEvent(line);
        if (!event) continue;
        const ending = endings.get(event.id) ?? {};
        if (event.action === "oom") ending.outOfMemory = true;
        if (event.action === "kill") ending.killSignal = event.attributes.signal ?? "unknown";
        if (event.action !== "die") {
          endings.set(event.id, ending);
          continue;
        }
        endings.delete(event.id);
        const exitCode = Number.parseInt(event.attributes.exitCode ?? "", 10);
        const reason = describeContainerEnd({ ...ending, exitCode: Number.isNaN(exitCode) ? undefined : exitCode });
        onEnd({ containerId: event.id, labels: event.attributes, reason, endedAt: event.at });
      }
    });
    stream.on("end", () => close());
    stream.on("close", () => close());
    stream.on("error", (error: Error) => close(error));
    return {
      close() {
        closed = true;
        stream.destroy?.();
      },
    };
  }

  private async createContainer(
    spec: SessionContainerSpec,
    network: PolicyNetwork | null,
    placement: Placement,
    phase: PhaseTimer,
    { imageId, agentBinary, slot }: ContainerParts,
  ): Promise<Docker.Container> {
    const port = `${spec.agentPort}/tcp`;
    const isolated = network === null;
    const accounts = await phase("account-files", () => this.accountFiles.forImage(imageId, spec.image, spec.labels));
    const paths = placement.hostPaths;
    // What the engine sets up with a network namespace is the holder's (network-slots.ts), and refused on a container that joins one.
    const ownNetwork = slot === null;
    const options: Docker.ContainerCreateOptions = {
      name: spec.name,
      Image: spec.image,
      Labels: spec.labels,
      Entrypoint: [AGENT_PATH_IN_CONTAINER],
      Cmd: spec.agentArgs,
      Env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
      // The agent keeps real uid 0 to start user code as uid 1000 with no capabilities (src/agent/sandbox-user.ts).
      User: "0:0",
      WorkingDir: WORKSPACE_MOUNT_PATH,
      ExposedPorts: ownNetwork ? { [port]: {} } : undefined,
      HostConfig: {
        Runtime: this.engineRuntimeOf(spec.runtime),
        Init: true,
        Binds: [
          `${agentBinary}:${AGENT_PATH_IN_CONTAINER}:ro`,
          // The token file, and with network none the agent's socket: the agent creates it there.
          `${paths.forEngine(spec.sessionDir, "the session's directory")}:${AGENT_SESSION_DIR}:${isolated ? "rw" : "ro"}`,
          ...(spec.runtime === "gvisor" ? await this.gvisorStatxBindsOnHost(placement) : []),
          // The sandbox user's name and home, in any image (sandbox-user-files.ts).
          `${paths.forEngine(accounts.passwd, "the sandbox account file")}:/etc/passwd:ro`,
          `${paths.forEngine(accounts.group, "the sandbox account file")}:/etc/group:ro`,
        ],
        Mounts: [{ Type: "volume", Source: spec.volumeName, Target: WORKSPACE_MOUNT_PATH }],
        PortBindings:
          ownNetwork && !isolated && placement.connectMode === "host_port"
            ? { [port]: [{ HostIp: this.settings.host_address, HostPort: "" }] }
            : undefined,
        NetworkMode: slot ? `${JOINED_PREFIX}${slot.holderId}` : (network?.name ?? "none"),
        // Names of an allow list resolve to exactly the addresses the firewall lets through.
        ExtraHosts: spec.network.kind === "allow" ? pinnedHosts(spec.network.hosts) : undefined,
        // …and no other name resolves: the engine's DNS forwarder gets an upstream nobody answers at (it may
        // otherwise query the host's resolver from the host itself, a channel past the firewall).
        Dns: spec.network.kind === "allow" ? [NO_RESOLVER] : undefined,
        Sysctls: ownNetwork && !isolated ? NO_IPV6 : undefined,
        // What user code writes to the agent's stdout/stderr must not grow the host's disk without bound.
        LogConfig: { Type: "json-file", Config: { "max-size": CONTAINER_LOG_MAX_SIZE, "max-file": "1" } },
        NanoCpus: spec.resources.nanoCpus,
        Memory: spec.resources.memoryBytes,
        MemorySwap: spec.resources.memoryBytes,
        PidsLimit: engineTaskLimit(spec.runtime, spec.resources.pidsLimit),
        CapDrop: ["ALL"],
        CapAdd: [...AGENT_CAPABILITIES, ...spec.hardening.extraCapabilities],
        SecurityOpt: spec.hardening.noNewPrivileges ? ["no-new-privileges"] : [],
        ReadonlyRootfs: spec.hardening.readOnlyRootfs,
        // Always a bounded tmpfs (charged to the container's memory), read-only root or not.
        Tmpfs: { "/tmp": `rw,nosuid,nodev,size=${spec.hardening.tmpSize}` },
      },
    };
    return phase("container-create", () => this.engine("create the container", () => this.docker.createContainer(options)));
  }

  /** Pull policy: if_not_present pulls a missing image; never fails at once. Answers the image's id. */
  private async ensureImage(image: string, onProgress?: (message: string) => void): Promise<string> {
    const present = await this.imageId(image);
    if (present) return present;
    if (this.settings.pull_policy === "never") {
      throw new ImageUnavailableError(image, 'it is not present on the engine and pull_policy is "never"');
    }
    await this.pullImage(image, onProgress);
    const pulled = await this.imageId(image);
    if (!pulled) throw new ImageUnavailableError(image, "the engine does not have it after pulling it");
    return pulled;
  }

  private imageId(image: string): Promise<string | null> {
    return this.engine("inspect the image", async () => {
      try {
        return (await this.docker.getImage(image).inspect()).Id;
      } catch (error) {
        if (statusOf(error) === 404) return null;
        throw error;
      }
    });
  }

  private async pullImage(image: string, onProgress?: (message: string) => void): Promise<void> {
    const started = performance.now();
    const message = `pulling image ${image} (not on the engine yet; this can take a while)…`;
    logProgress(message);
    onProgress?.(message);
    try {
      const stream = (await this.engine("pull the image", () => this.docker.pull(image), {
        discardLate: closeLateStream,
      })) as EngineStream;
      await this.followPull(stream);
      logProgress(`pulled image ${image} in ${Math.round((performance.now() - started) / 1000)} s`);
    } catch (error) {
      const failure = engineFailure(error, this.endpoint, "pull the image");
      if (failure.code === "driver_unavailable") throw failure;
      throw new ImageUnavailableError(image, `it is not present and could not be pulled: ${engineMessage(error)}`);
    }
  }

  private async resolveEndpoint(containerId: string, agentPort: number, networkName: string, connectMode: ConnectMode): Promise<string> {
    const info = await this.engine("inspect the container", () => this.docker.getContainer(containerId).inspect());
    return agentEndpointOf(info, agentPort, networkName, connectMode === "host_port" ? this.settings.host_address : null);
  }

  /** Waits for a pull to finish, as long as it takes, unless the engine stops reporting progress. */
  private followPull(stream: EngineStream): Promise<void> {
    const stallMs = Math.max(PULL_STALL_MIN_MS, this.timeoutMs);
    return new Promise<void>((resolve, reject) => {
      let timer: Timer | undefined;
      const stalled = () => {
        stream.destroy?.();
        reject(new EngineTimeoutError(this.endpoint, "pull the image (no progress)", stallMs));
      };
      const armStallTimer = () => {
        clearTimeout(timer);
        timer = setTimeout(stalled, stallMs);
      };
      armStallTimer();
      this.docker.modem.followProgress(
        stream,
        (error: Error | null) => {
          clearTimeout(timer);
          if (error) reject(error);
          else resolve();
        },
        armStallTimer,
      );
    });
  }

  /**
   * Runs one engine call with a deadline and maps its failure to the contract.
   * A hung engine must not hang Bay: past the deadline the call fails with
   * driver_unavailable, and whatever the engine answers later is dropped
   * (`discardLate` releases a late stream).
   */
  private async engine<T>(
    action: string,
    call: () => Promise<T>,
    options: { timeoutMs?: number; discardLate?: (value: T) => void } = {},
  ): Promise<T> {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    let timer: Timer | undefined;
    let timedOut = false;
    const pending = call();
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        reject(new EngineTimeoutError(this.endpoint, action, timeoutMs));
      }, timeoutMs);
    });
    pending.then((late) => timedOut && options.discardLate?.(late), () => undefined);
    try {
      return await Promise.race([pending, deadline]);
    } catch (error) {
      throw engineFailure(error, this.endpoint, action);
    } finally {
      clearTimeout(timer);
    }
  }
}

type PhaseTimer = <T>(name: string, step: () => Promise<T>) => Promise<T>;

/** What a start has found out before it creates its container. */
interface ContainerParts {
  imageId: string;
  /** The agent binary's path as the engine sees it. */
  agentBinary: string;
  /** The network slot it joins, or null for a namespace of its own. */
  slot: NetworkSlot | null;
}

/** The network mode of a container that joins another's namespace. */
const JOINED_PREFIX = "container:";

/** The firewall speaks IPv4; a sandbox gets no IPv6 at all. */
const NO_IPV6 = { "net.ipv6.conf.all.disable_ipv6": "1", "net.ipv6.conf.default.disable_ipv6": "1" };

/**
 * Where the agent in a container answers, from the container's inspection:
 * its published port on `publishedOn` (connect mode host_port), else its
 * address on the sandbox network.
 */
function agentEndpointOf(info: Docker.ContainerInspectInfo, agentPort: number, networkName: string, publishedOn: string | null): string {
  if (publishedOn !== null) {
    const binding = info.NetworkSettings.Ports?.[`${agentPort}/tcp`]?.[0];
    if (!binding?.HostPort) throw new AgentError("the container's agent port was not published");
    return `http://${publishedOn}:${binding.HostPort}`;
  }
  const address = info.NetworkSettings.Networks?.[networkName]?.IPAddress;
  if (!address) throw new AgentError(`the container has no address on network ${networkName}`);
  return `http://${address}:${agentPort}`;
}

/** Times each step of a start for the caller's `onPhase`. */
function phaseTimer(onPhase: SessionContainerSpec["onPhase"]): PhaseTimer {
  return (name, step) => timed(step, (ms) => onPhase?.(name, ms));
}

interface EngineEvent {
  id: string;
  action: string;
  attributes: Record<string, string>;
  /** Epoch ms. */
  at?: number;
}

function parseEngineEvent(line: string): EngineEvent | null {
  try {
    const raw = JSON.parse(line) as {
      id?: string;
      Action?: string;
      status?: string;
      timeNano?: number;
      Actor?: { ID?: string; Attributes?: Record<string, string> };
    };
    const id = raw.Actor?.ID ?? raw.id;
    const action = raw.Action ?? raw.status;
    const at = raw.timeNano ? Math.floor(raw.timeNano / 1e6) : undefined;
    return id && action ? { id, action, attributes: raw.Actor?.Attributes ?? {}, at } : null;
  } catch {
    return null;
  }
}

/** The engine's timestamps; a container that never ended has the zero time, which is no time. */
function engineTime(text: string | undefined): number | undefined {
  const at = Date.parse(text ?? "");
  return at > 0 ? at : undefined;
}

function pinnedHosts(hosts: Record<string, string[]>): string[] {
  return Object.entries(hosts).flatMap(([name, addresses]) => addresses.map((address) => `${name}:${address}`));
}

function labelFilters(labels: Labels): string[] {
  return Object.entries(labels).map(([key, value]) => `${key}=${value}`);
}

/**
 * Under gVisor the engine's pids limit counts the sentry's host threads, not
 * the sandbox's processes: about 66 at rest, and up to about 12 per process
 * of user code at a fork bomb's peak (measured on this engine). A sentry
 * that cannot make a thread ends the whole sandbox, so the limit is scaled
 * well past that; the agent caps user code's processes at pids_limit inside
 * (RLIMIT_NPROC), and this still bounds the host threads.
 */
function engineTaskLimit(runtime: SandboxRuntime, pidsLimit: number): number {
  return runtime === "gvisor" ? GVISOR_BASE_THREADS + pidsLimit * GVISOR_THREADS_PER_PROCESS : pidsLimit;
}

const GVISOR_BASE_THREADS = 256;
const GVISOR_THREADS_PER_PROCESS = 16;
