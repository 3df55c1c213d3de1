/**
 * Older copies of the executables Bay stages for the engine to mount
 * (host-paths.ts: the agent binary where Bay runs in a container, the native
 * slot holder everywhere). Each version is written under its digest and never
 * replaced, so that an upgrade swaps no file under a running container; once
 * a new version is written, the older ones that no container mounts any more
 * are removed, so upgrades do not pile copies up in the data directory.
 */
import { readdirSync, rmSync } from "node:fs";
import { basename, join } from "node:path";
import type Docker from "dockerode";
import type { EngineCall } from "./errors.ts";
import type { StagedVersion } from "./host-paths.ts";

/** What was removed; `engineView` is the engine's path of a file of Bay's (null: it cannot see it, and it is kept). */
export async function removeOlderVersions(
  docker: Docker,
  engine: EngineCall,
  staged: StagedVersion,
  engineView: (path: string) => string | null,
): Promise<string[]> {
  const version = new RegExp(`^${staged.name}-[0-9a-f]{16}$`);
  const older = readdirSync(staged.directory).filter((file) => version.test(file) && file !== basename(staged.path));
  if (older.length === 0) return [];
  // Every container the engine has, in any state and of any Bay: one that still mounts a copy keeps it.
  const containers = await engine("list containers", () => docker.listContainers({ all: true }));
  const mounted = new Set(containers.flatMap((container) => (container.Mounts ?? []).map((mount) => mount.Source)));
  const removed: string[] = [];
  for (const file of older) {
    const path = join(staged.directory, file);
    const seen = engineView(path);
    if (seen === null || mounted.has(seen)) continue;
    rmSync(path, { force: true });
    removed.push(path);
  }
  return removed;
}
