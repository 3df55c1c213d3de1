import { readFileSync } from "node:fs";
import type Docker from "dockerode";
import { statusOf, type EngineCall } from "./errors.ts";

/** A bridge network Bay's own container is attached to, with the host interface its packets leave by. */
export interface OwnNetwork {
  name: string;
  bridge: string;
}

/** A path of Bay's container that the engine provides from the host: a bind mount or a volume. */
export interface OwnMount {
  /** Where the engine's host has it; valid in a bind mount of another container. */
  source: string;
  destination: string;
}

/** Bay's own container, as the engine that runs the sandboxes sees it. */
export interface OwnContainer {
  id: string;
  name: string;
  imageId: string;
  /** True when it shares the host's network namespace (`network_mode: host`). */
  hostNetwork: boolean;
  networks: OwnNetwork[];
  mounts: OwnMount[];
}

const CONTAINER_ID = /[0-9a-f]{64}/g;

/**
 * Finds the container this process runs in on the given engine, or null when
 * it runs on the host (or in a container of another engine). Docker mounts
 * each container's own resolv.conf, hostname and hosts files from
 * `…/containers/<id>/`, which names the id; a cgroup v1 path names it too. A candidate only counts once the engine knows it: a
 * `/.dockerenv` alone proves nothing (machines built from container images
 * carry one).
 */
export async function findOwnContainer(docker: Docker, engine: EngineCall, candidates = ownContainerCandidates()): Promise<OwnContainer | null> {
  for (const candidate of candidates) {
    const info = await engine("inspect Bay's own container", async () => {
      try {
        return await docker.getContainer(candidate).inspect();
      } catch (error) {
        if (statusOf(error) === 404) return null;
        throw error;
      }
    });
    if (info?.Id === candidate) return await describe(docker, engine, info);
  }
  return null;
}

/** Ids this process's container may have, most telling first; empty on a host. */
export function ownContainerCandidates(read = (path: string) => readFileSync(path, "utf8")): string[] {
  const found: string[] = [];
  for (const file of ["/proc/self/mountinfo", "/proc/self/cgroup"]) {
    let text = "";
    try {
      text = read(file);
    } catch {
      continue;
    }
    const hinted = file.endsWith("mountinfo")
      ? text.split("\n").filter((line) => /\/containers\/[0-9a-f]{64}\/(resolv\.conf|hostname|hosts)\b/.test(line))
      : text.split("\n").filter((line) => /docker/.test(line));
    for (const line of hinted) for (const id of line.match(CONTAINER_ID) ?? []) if (!found.includes(id)) found.push(id);
  }
  return found;
}

async function describe(docker: Docker, engine: EngineCall, info: Docker.ContainerInspectInfo): Promise<OwnContainer> {
  const hostNetwork = info.HostConfig.NetworkMode === "host";
  const networks: OwnNetwork[] = [];
  for (const [name, endpoint] of Object.entries(info.NetworkSettings.Networks ?? {})) {
    const network = (await engine("inspect Bay's network", () => docker.getNetwork(endpoint.NetworkID || name).inspect())) as Docker.NetworkInspectInfo;
    if (network.Driver !== "bridge") continue;
    networks.push({ name, bridge: network.Options?.["com.docker.network.bridge.name"] ?? `br-${network.Id.slice(0, 12)}` });
  }
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ""),
    imageId: info.Image,
    hostNetwork,
    networks,
    mounts: (info.Mounts ?? [])
      .filter((mount) => (mount.Type === "bind" || mount.Type === "volume") && mount.Source)
      .map((mount) => ({ source: mount.Source, destination: mount.Destination })),
  };
}
