/**
 * Network namespaces made ahead of time. Docker spends most of a
 * container's start on its network: a fresh namespace, and on a user-defined
 * network its embedded resolver, each a re-execution of dockerd (about
 * 0.5 s of a 0.7 s start here; a container that joins another's namespace
 * starts in 0.2 s). A network slot is a tiny holder container on a sandbox
 * network, started in the background; a sandbox started later joins its
 * namespace (`NetworkMode: container:<holder>`), as Kubernetes pods join
 * their pause container's.
 *
 * Each holder serves one sandbox and goes with it. Holders carry Bay's
 * instance label like everything Bay leaves on the engine, but the driver
 * does not list them to the core (they belong to no session), and they need
 * no collector: they are auto-removed when their process ends, and it ends by
 * itself (slot-holder.c, or src/agent/network-holder.ts) when unclaimed past its ready lifetime
 * or once its sandbox's agent is gone, so even a Bay that crashes, or a
 * sandbox container removed behind Bay's back, leaves none behind for long.
 */
import { randomBytes } from "node:crypto";
import { consola } from "consola";
import type Docker from "dockerode";
import { statusOf, type EngineCall } from "./errors.ts";
import type { HolderProgram } from "./slot-holder.ts";

/** On every holder: the network it holds a namespace on ("none" for none). */
export const SLOT_LABEL = "bay.network_slot";

/** An unclaimed holder ends itself after this long; the pool replaces it well before. */
const HOLDER_READY_SECONDS = 30 * 60;
/**
 * A holder is handed out only with this long left: the sandbox's agent must
 * listen before the holder's ready lifetime ends, or the holder ends under it.
 */
const CLAIM_MARGIN_MS = 10 * 60_000;
/** How often expiring holders are replaced and networks that missed a refill are filled again. */
const TICK_MS = 60_000;
/** A holder created this long ago and still not running was left by a Bay that died between creating and starting it. */
const UNSTARTED_AFTER_MS = 60_000;
const HOLDER_MEMORY_BYTES = 64 * 1024 * 1024;
const HOLDER_PIDS = 32;

/** How holders for one network are made; the latest start on that network says it. */
export interface SlotTemplate {
  /** Bay's labels for the holder (managed, instance); the slot label is added. */
  labels: Record<string, string>;
  /** The pool's key: the network's name, or "none". */
  network: string;
  image: string;
  /** What the holder runs: the native holder, or the agent binary's `bay hold` (slot-holder.ts). */
  program: HolderProgram;
  agentPort: number;
  /** Set for sandboxes without network: the agent's unix socket, whose listening the holder watches for. */
  agentSocket: string | null;
  /** The address to publish the agent port on (connect mode host_port), or null. */
  publishOn: string | null;
  sysctls: Record<string, string> | undefined;
}

/** A holder ready to be joined. */
export interface NetworkSlot {
  holderId: string;
  /** Where the agent of the sandbox that joins answers (null without network: at its socket). */
  endpoint: string | null;
}

interface ReadySlot extends NetworkSlot {
  agentPort: number;
  readyUntil: number;
}

/** The agent's endpoint as seen from Bay, from the holder's inspection; the driver knows its connect mode. */
export type SlotEndpoint = (info: Docker.ContainerInspectInfo, template: SlotTemplate) => string | null;

export class NetworkSlots {
  private readonly ready = new Map<string, ReadySlot[]>();
  private readonly templates = new Map<string, SlotTemplate>();
  private readonly filling = new Map<string, Promise<void>>();
  /**
   * The holder each container this process started joined (null: none), by
   * container id: known without asking the engine, even once the container is gone.
   */
  private readonly joined = new Map<string, string | null>();
  private timer: Timer | null = null;
  private active = false;
  /** The labels of this Bay's holders, known from its first start (the sweep looks for these). */
  private labels: Record<string, string> | null = null;

  constructor(
    private readonly docker: Docker,
    private readonly engine: EngineCall,
    /** Ready holders kept per network in use; 0 turns slots off. */
    private readonly size: number,
    private readonly endpointOf: SlotEndpoint,
  ) {}

  /** From now on, networks that sandboxes start on keep `size` holders ready. */
  start(): void {
    if (this.size <= 0 || this.active) return;
    this.active = true;
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref?.();
  }

  /** Whether starts may join slots (a long-lived Bay that keeps them). */
  isActive(): boolean {
    return this.active;
  }

  /**
   * A ready holder on this template's network, or null (the start then
   * makes its own namespace, as without slots). Either way the network
   * keeps holders ready from now on.
   */
  claim(template: SlotTemplate): NetworkSlot | null {
    if (!this.active) return null;
    if (this.labels === null) {
      this.labels = template.labels;
      void this.sweep();
    }
    this.templates.set(template.network, template);
    const queue = this.ready.get(template.network) ?? [];
    let found: ReadySlot | undefined;
    while (!found && queue.length > 0) {
      const next = queue.shift()!;
      if (this.usable(next, template.agentPort)) found = next;
      else this.discard(next);
    }
    this.fill(template.network);
    return found ? { holderId: found.holderId, endpoint: found.endpoint } : null;
  }

  /** Notes which holder a container this process started joined (null: none), for `takeHolderJoinedBy`. */
  noteJoined(containerId: string, holderId: string | null): void {
    this.joined.set(containerId, holderId);
  }

  /** The holder a container this process started joined (null: none), or undefined for a container it did not start; forgets it. */
  takeHolderJoinedBy(containerId: string): string | null | undefined {
    const holder = this.joined.get(containerId);
    this.joined.delete(containerId);
    return holder;
  }

  /** Removes a holder (its sandbox is gone, or it was never joined); absent is success. */
  async remove(holderId: string): Promise<void> {
    await this.engine("remove a network slot", async () => {
      try {
        await this.docker.getContainer(holderId).remove({ force: true });
      } catch (error) {
        // Gone already, or being auto-removed as its process ended.
        if (statusOf(error) !== 404 && statusOf(error) !== 409) throw error;
      }
    });
  }

  /** Stops refilling and removes the holders no sandbox has joined. */
  async close(): Promise<void> {
    this.active = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.all(this.filling.values());
    const unclaimed = [...this.ready.values()].flat();
    this.ready.clear();
    await Promise.all(unclaimed.map((slot) => this.remove(slot.holderId).catch(() => undefined)));
  }

  private usable(slot: ReadySlot, agentPort: number): boolean {
    return slot.agentPort === agentPort && slot.readyUntil - Date.now() >= CLAIM_MARGIN_MS;
  }

  private discard(slot: ReadySlot): void {
    void this.remove(slot.holderId).catch(() => undefined);
  }

  /**
   * Removes this Bay's holders that were created but never ran: a holder ends
   * itself only once it runs, so one left between create and start by a Bay
   * that died would stay. Exited ones are auto-removed by the engine.
   */
  private async sweep(): Promise<void> {
    if (!this.labels) return;
    const label = [...Object.entries(this.labels).map(([key, value]) => `${key}=${value}`), SLOT_LABEL];
    try {
      const found = await this.engine("list network slots", () => this.docker.listContainers({ all: true, filters: { label, status: ["created", "exited", "dead"] } }));
      const stale = found.filter((holder) => Date.now() - holder.Created * 1000 >= UNSTARTED_AFTER_MS);
      await Promise.all(stale.map((holder) => this.remove(holder.Id)));
    } catch (error) {
      consola.warn(`docker driver: could not sweep network slots: ${(error as Error).message}`);
    }
  }

  private tick(): void {
    void this.sweep();
    for (const [network, queue] of this.ready) {
      const keep = queue.filter((slot) => slot.readyUntil - Date.now() >= CLAIM_MARGIN_MS + TICK_MS);
      for (const slot of queue) if (!keep.includes(slot)) this.discard(slot);
      this.ready.set(network, keep);
    }
    for (const network of this.templates.keys()) this.fill(network);
  }

  /** Tops this network up to `size` ready holders, one at a time (a start competes with them for the engine). */
  private fill(network: string): void {
    if (!this.active || this.filling.has(network)) return;
    // Dropped in a reaction, which runs after the set below even when there was nothing to make: deleted before
    // it was set, the entry would stay and the network would never be filled again.
    const filled = this.fillNow(network).finally(() => this.filling.delete(network));
    this.filling.set(network, filled);
  }

  private async fillNow(network: string): Promise<void> {
    try {
      while (this.active && (this.ready.get(network)?.length ?? 0) < this.size) {
        const template = this.templates.get(network)!;
        const slot = await this.make(template);
        if (!this.active) {
          await this.remove(slot.holderId).catch(() => undefined);
          return;
        }
        this.ready.set(network, [...(this.ready.get(network) ?? []), slot]);
      }
    } catch (error) {
      // Starts go on without slots meanwhile; the next tick tries again.
      consola.warn(`docker driver: could not make a network slot on ${network}: ${(error as Error).message}`);
    }
  }

  private async make(template: SlotTemplate): Promise<ReadySlot> {
    const readyUntil = Date.now() + HOLDER_READY_SECONDS * 1000;
    const port = `${template.agentPort}/tcp`;
    const options: Docker.ContainerCreateOptions = {
      name: `bay-slot-${randomBytes(6).toString("hex")}`,
      Image: template.image,
      Labels: { ...template.labels, [SLOT_LABEL]: template.network },
      Entrypoint: template.program.entrypoint,
      Cmd: [
        "--ready-seconds",
        String(HOLDER_READY_SECONDS),
        ...(template.agentSocket ? ["--agent-socket", template.agentSocket] : ["--agent-port", String(template.agentPort)]),
      ],
      User: "65534:65534",
      Env: template.program.env,
      ExposedPorts: template.publishOn ? { [port]: {} } : undefined,
      HostConfig: {
        AutoRemove: true,
        Binds: [template.program.bind],
        NetworkMode: template.network,
        PortBindings: template.publishOn ? { [port]: [{ HostIp: template.publishOn, HostPort: "" }] } : undefined,
        Sysctls: template.sysctls,
        LogConfig: { Type: "json-file", Config: { "max-size": "64k", "max-file": "1" } },
        Memory: HOLDER_MEMORY_BYTES,
        MemorySwap: HOLDER_MEMORY_BYTES,
        PidsLimit: HOLDER_PIDS,
        CapDrop: ["ALL"],
        SecurityOpt: ["no-new-privileges"],
        ReadonlyRootfs: true,
      },
    };
    const container = await this.engine("create a network slot", () => this.docker.createContainer(options));
    try {
      await this.engine("start a network slot", () => container.start());
      const info = await this.engine("inspect a network slot", () => container.inspect());
      return { holderId: container.id, endpoint: this.endpointOf(info, template), agentPort: template.agentPort, readyUntil };
    } catch (error) {
      await this.remove(container.id).catch(() => undefined);
      throw error;
    }
  }
}
