import { existsSync } from "node:fs";
import { BayError } from "../../src/kit/driver.ts";
import type { OwnContainer } from "./own-container.ts";
import type { DockerSettings } from "./settings.ts";

export type ConnectMode = "host_port" | "container_network";

/**
 * How Bay reaches each sandbox's agent, given where Bay runs. `auto`: in a
 * container of its own, the sandbox's address on its network, routed
 * through the host; on the engine's host (or in a container sharing its
 * network), the sandbox's address too when the engine's bridges are in
 * Bay's network namespace (`bridgesLocal`: a local, rootful engine), since
 * a published port costs a `docker-proxy` process per sandbox, about 30 ms
 * of each start and 40 of each removal, and a relay on every call; else a
 * port published on `host_address` (docs/deployment.md). A mode that cannot
 * work from where Bay runs is refused with the reason.
 */
/** Bay runs in a container with a network namespace of its own (not on the host, nor with the host's network). */
export function inOwnNetworkNamespace(own: OwnContainer | null): own is OwnContainer {
  return own !== null && !own.hostNetwork;
}

export function resolveConnectMode(
  settings: Pick<DockerSettings, "connect_mode" | "host_address">,
  own: OwnContainer | null,
  bridgesLocal = false,
): ConnectMode {
  const isolated = inOwnNetworkNamespace(own);
  const mode = settings.connect_mode === "auto" ? (isolated || bridgesLocal ? "container_network" : "host_port") : settings.connect_mode;
  if (isolated && mode === "container_network" && own.networks.length === 0) {
    throw new BayError(
      "driver_unavailable",
      `Bay's container ${own.name} is on no bridge network, so it cannot reach sandboxes by their address; attach it to one`,
      { reason: "connect_mode", connect_mode: mode },
    );
  }
  if (isolated && mode === "host_port" && /^127\.|^localhost$|^::1$/.test(settings.host_address)) {
    throw new BayError(
      "driver_unavailable",
      `connect_mode host_port publishes agent ports on the engine host's ${settings.host_address}, which Bay's container ` +
        `${own.name} cannot reach; use connect_mode container_network (or auto), or run Bay with network_mode: host`,
      { reason: "connect_mode", connect_mode: mode },
    );
  }
  return mode;
}

/**
 * Whether the engine's bridges are interfaces of this process's network
 * namespace, so that the host routes to container addresses: the default
 * bridge network's interface (docker0 unless configured) is here. It is
 * not for a remote engine, a rootless one or one in a VM.
 */
export function engineBridgesLocal(defaultBridgeName: string | null, interfaceExists = (name: string) => existsSync(`/sys/class/net/${name}`)): boolean {
  return defaultBridgeName !== null && /^[\w.-]+$/.test(defaultBridgeName) && interfaceExists(defaultBridgeName);
}

/** What the log says about the choice, once. */
export function describePlacement(mode: ConnectMode, own: OwnContainer | null): string {
  if (!own) return `Bay runs on the engine's host; agents are reached through ${mode === "host_port" ? "published ports" : "their container addresses"} (connect_mode ${mode})`;
  const where = own.hostNetwork ? "with the host's network" : `on network ${own.networks.map((network) => network.name).join(", ")}`;
  return `Bay runs in container ${own.name} ${where}; agents are reached through ${mode === "host_port" ? "published ports" : "their container addresses"} (connect_mode ${mode})`;
}
