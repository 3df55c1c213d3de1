import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join, relative, isAbsolute } from "node:path";
import { BayError } from "../../src/kit/driver.ts";
import type { OwnMount } from "./own-container.ts";

/** A version of an executable written into a staging directory by this process (the older ones may then go). */
export interface StagedVersion {
  directory: string;
  /** The file name's stem: versions are `${name}-${digest}`. */
  name: string;
  path: string;
}

/**
 * Turns Bay's own paths into paths the engine can bind-mount into sandboxes.
 * On the host they are the same. When Bay runs in a container, a path is
 * only visible to the engine if it lies on one of that container's mounts
 * (a bind mount or a volume, whose host path the engine reports); anything
 * else exists only inside Bay's container.
 */
export class HostPaths {
  private readonly stagedBinaries = new Map<string, string>();

  /**
   * `mounts` is null on the host, where every path is already the engine's.
   * `onNewVersion` hears of each version this process wrote (after an upgrade).
   */
  constructor(
    private readonly mounts: OwnMount[] | null,
    private readonly onNewVersion: (staged: StagedVersion) => void = () => undefined,
  ) {}

  /** The engine's path for one of Bay's, or a clear refusal naming what to mount. */
  forEngine(path: string, what: string): string {
    const found = this.translate(path);
    if (found === null) {
      throw new BayError(
        "driver_unavailable",
        `${what} ${path} is inside Bay's container, where the engine cannot mount it into sandboxes; ` +
          "put data_dir on a volume or bind mount of Bay's container",
        { reason: "path_not_on_a_mount", path },
      );
    }
    return found;
  }

  /**
   * The agent binary as the engine can mount it. Inside Bay's image the
   * binary is on no mount, so it is copied once into `stagingDir` (on the
   * data volume).
   */
  agentBinary(path: string, stagingDir: string | undefined): string {
    if (this.translate(path) !== null || stagingDir === undefined) return this.forEngine(path, "the agent binary");
    const known = this.stagedBinaries.get(path);
    if (known) return known;
    const forEngine = this.forEngine(this.stage(readFileSync(path), stagingDir, "bay", 0o755), "the agent binary's copy");
    this.stagedBinaries.set(path, forEngine);
    return forEngine;
  }

  /**
   * A file Bay carries (the native slot holder, the statx shim and its
   * preload list) as a file in `stagingDir` the engine can mount; `mode`
   * 0644 for one that is not a program.
   */
  carriedFile(bytes: Uint8Array, stagingDir: string, name: string, mode: StagedMode = 0o755): string {
    return this.forEngine(this.stage(bytes, stagingDir, name, mode), `the ${name} file's copy`);
  }

  /** The engine's path of a file of Bay's, or null where the engine cannot see it. */
  engineView(path: string): string | null {
    return this.translate(path);
  }

  private stage(bytes: Uint8Array, stagingDir: string, name: string, mode: StagedMode): string {
    const { path, written } = stageFile(bytes, stagingDir, name, mode);
    if (written) this.onNewVersion({ directory: stagingDir, name, path });
    return path;
  }

  private translate(path: string): string | null {
    if (this.mounts === null) return path;
    let best: OwnMount | null = null;
    for (const mount of this.mounts) {
      const inside = relative(mount.destination, path);
      if (inside.startsWith("..") || isAbsolute(inside)) continue;
      if (!best || mount.destination.length > best.destination.length) best = mount;
    }
    if (!best) return null;
    const rest = relative(best.destination, path);
    return rest ? join(best.source, rest) : best.source;
  }
}

/** A program's mode, or a plain file's: either is readable by the container's users. */
type StagedMode = 0o755 | 0o644;

/**
 * Writes a file once into `stagingDir`, under its digest, so that an
 * upgrade never swaps a file a running container has mounted; its path, and
 * whether this call wrote it.
 */
function stageFile(bytes: Uint8Array, stagingDir: string, name: string, mode: StagedMode): { path: string; written: boolean } {
  const digest = new Bun.CryptoHasher("sha256").update(bytes).digest("hex").slice(0, 16);
  const staged = join(stagingDir, `${name}-${digest}`);
  if (existsSync(staged)) return { path: staged, written: false };
  mkdirSync(stagingDir, { recursive: true, mode: 0o755 });
  const partial = `${staged}.${process.pid}.partial`;
  writeFileSync(partial, bytes);
  chmodSync(partial, mode);
  renameSync(partial, staged);
  return { path: staged, written: true };
}
