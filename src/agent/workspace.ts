import { lstatSync, readlinkSync, realpathSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { invalidPath, normalizeWorkspacePath } from "../shared/workspace-path.ts";

/** Symlink hops followed before a path is refused as a loop. */
const MAX_LINK_HOPS = 40;

export interface ResolvedPath {
  /** Normalised path relative to the workspace ("." for the root). */
  relative: string;
  /** Where the path is in the workspace, without following a final symlink (what delete removes). */
  lexical: string;
  /** Where reads and writes land once every symlink is followed; always inside the workspace. */
  real: string;
}

/**
 * The agent's half of path safety (api.md §7): after the lexical check, every
 * symlink on the way, dangling ones included, is followed, and the path is
 * refused unless it ends up inside the workspace.
 */
export class Workspace {
  readonly realRoot: string;

  constructor(readonly root: string) {
    this.realRoot = realpathSync(root);
  }

  resolve(path: string, field = "path"): ResolvedPath {
    const relative = normalizeWorkspacePath(path, field);
    const lexical = relative === "." ? this.realRoot : join(this.realRoot, relative);
    const real = this.followLinks(lexical, path, field);
    if (real !== this.realRoot && !real.startsWith(`${this.realRoot}/`)) {
      throw invalidPath(path, field, "resolves outside /workspace through a symlink");
    }
    return { relative, lexical, real };
  }

  /** The workspace-relative form of an absolute path inside it. */
  relativeOf(absolute: string): string {
    return absolute === this.realRoot ? "." : absolute.slice(this.realRoot.length + 1);
  }

  private followLinks(start: string, original: string, field: string): string {
    let current = start;
    const missing: string[] = [];
    let hops = 0;
    for (;;) {
      try {
        return join(realpathSync(current), ...missing);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "ELOOP") throw invalidPath(original, field, "has too many levels of symbolic links");
        if (code === "ENAMETOOLONG") throw invalidPath(original, field, "is too long once symbolic links are followed");
        // ENOTDIR: a component is a file, so the rest cannot exist yet; callers report that.
        if (code !== "ENOENT" && code !== "ENOTDIR") throw error;
      }
      // `current` does not exist, or is a symlink whose target does not.
      const link = lstatOrNull(current);
      if (link?.isSymbolicLink()) {
        if (++hops > MAX_LINK_HOPS) throw invalidPath(original, field, "has too many levels of symbolic links");
        current = resolve(dirname(current), readlinkSync(current));
      } else {
        missing.unshift(basename(current));
        current = dirname(current);
      }
    }
  }
}

function lstatOrNull(path: string) {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}
