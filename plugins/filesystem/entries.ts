import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, statSync, type Stats } from "node:fs";
import { basename, dirname, join } from "node:path";
import { BayError, type ResolvedPath, type Workspace } from "../../src/kit/agent.ts";
import { MAX_LIST_ENTRIES, type DirectoryEntry, type FileInfo } from "./schemas.ts";

/**
 * Directory entries as the API describes them: listing (to a depth),
 * stat, making directories and moving, all under the workspace's path
 * safety (every path resolved inside /workspace, symlinks included).
 */

/** The directory's entries, and theirs down to `depth` levels; symlinked directories are listed, never entered. */
export function listDirectory(workspace: Workspace, path: string, depth: number): DirectoryEntry[] {
  const target = workspace.resolve(path);
  const stats = statOrThrow(target, path);
  if (!stats.isDirectory()) throw new BayError("validation_error", `${path} is not a directory`, { path });
  const entries: DirectoryEntry[] = [];
  const walk = (real: string, relative: string, level: number) => {
    for (const name of readdirSync(real).sort()) {
      if (entries.length >= MAX_LIST_ENTRIES) {
        throw new BayError("validation_error", `${path} holds more than ${MAX_LIST_ENTRIES} entries to depth ${depth}; list less deep`, { path });
      }
      const entryPath = relative === "." ? name : `${relative}/${name}`;
      const entry = entryStats(workspace, join(real, name), entryPath);
      const modified = (entry?.mtime ?? new Date(0)).toISOString();
      entries.push({
        name,
        path: entryPath,
        is_file: entry?.isFile() ?? false,
        is_dir: entry?.isDirectory() ?? false,
        size: entry?.size ?? 0,
        modified_time: modified,
        modified_at: modified,
      });
      const isRealDirectory = statOrNull(join(real, name), true)?.isDirectory() ?? false;
      if (level < depth && isRealDirectory) walk(join(real, name), entryPath, level + 1);
    }
  };
  walk(target.real, target.relative, 1);
  return entries;
}

/** One entry, not following a final symlink (which is described as one, with its target). */
export function fileInfo(workspace: Workspace, path: string): FileInfo {
  const target = workspace.resolve(path);
  const stats = statOrNull(target.lexical, true);
  if (!stats) throw new BayError("file_not_found", `${path} does not exist`, { path });
  return describe(target.lexical, target.relative, stats);
}

/** Makes the directory and its missing parents; `created` is false when it was there already. */
export function makeDirectory(workspace: Workspace, path: string): { path: string; created: boolean } {
  const target = workspace.resolve(path);
  const existing = statOrNull(target.real);
  if (existing?.isDirectory()) return { path: target.relative, created: false };
  if (existing) throw new BayError("validation_error", `${path} exists and is not a directory`, { path });
  try {
    mkdirSync(target.real, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST" || code === "ENOTDIR") throw new BayError("validation_error", `a parent of ${path} is not a directory`, { path });
    throw fileSystemError(error, path);
  }
  return { path: target.relative, created: true };
}

/**
 * Moves (renames) an entry; a symlink is moved as a link. Missing parents of
 * the destination are made; an existing file there is replaced, an existing
 * non-empty directory is not.
 */
export function moveEntry(workspace: Workspace, sourcePath: string, destinationPath: string): FileInfo {
  const source = workspace.resolve(sourcePath, "source");
  const destination = workspace.resolve(destinationPath, "destination");
  if (source.relative === ".") throw new BayError("invalid_path", "cannot move the workspace directory itself", { field: "source" });
  if (destination.relative === ".") throw new BayError("invalid_path", "cannot replace the workspace directory itself", { field: "destination" });
  if (!statOrNull(source.lexical, true)) throw new BayError("file_not_found", `${sourcePath} does not exist`, { path: sourcePath });
  if (`${destination.lexical}/`.startsWith(`${source.lexical}/`)) {
    throw new BayError("validation_error", `cannot move ${sourcePath} into itself`, { field: "destination" });
  }
  // The parent is resolved again, as for writes: a symlinked parent must not lead outside.
  const parent = workspace.resolve(workspace.relativeOf(dirname(destination.real)), "destination");
  try {
    mkdirSync(parent.real, { recursive: true });
    renameSync(source.lexical, join(parent.real, basename(destination.real)));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOTEMPTY" || code === "EEXIST") throw new BayError("conflict", `${destinationPath} is a directory that is not empty`, { path: destinationPath });
    if (code === "EISDIR" || code === "ENOTDIR") throw new BayError("validation_error", `cannot move ${sourcePath} onto ${destinationPath}: one is a directory`, { field: "destination" });
    throw fileSystemError(error, sourcePath);
  }
  return fileInfo(workspace, destination.relative);
}

function describe(absolute: string, relative: string, stats: Stats): FileInfo {
  const type = stats.isSymbolicLink() ? "symlink" : stats.isDirectory() ? "dir" : stats.isFile() ? "file" : "other";
  return {
    name: relative === "." ? "." : basename(relative),
    path: relative,
    type,
    size: stats.size,
    mode: stats.mode & 0o7777,
    permissions: permissionString(stats),
    owner: accountName("/etc/passwd", stats.uid),
    group: accountName("/etc/group", stats.gid),
    modified_time: stats.mtime.toISOString(),
    symlink_target: stats.isSymbolicLink() ? readlinkSync(absolute) : null,
  };
}

function permissionString(stats: Stats): string {
  const kind = stats.isSymbolicLink() ? "l" : stats.isDirectory() ? "d" : stats.isFile() ? "-" : "?";
  const bits = "rwxrwxrwx";
  return kind + [...bits].map((letter, index) => ((stats.mode >> (8 - index)) & 1 ? letter : "-")).join("");
}

const accountNames = new Map<string, Map<number, string>>();

/** The name an id has in the sandbox's account files, or the id itself. */
function accountName(file: string, id: number): string {
  let names = accountNames.get(file);
  if (!names) {
    names = new Map();
    try {
      for (const line of readFileSync(file, "utf8").split("\n")) {
        const [name, , number] = line.split(":");
        if (name && number && !names.has(Number(number))) names.set(Number(number), name);
      }
    } catch {
      // No account file: ids stay numbers.
    }
    accountNames.set(file, names);
  }
  return names.get(id) ?? String(id);
}

/** A symlink is described by its target only when the target is inside the workspace. */
function entryStats(workspace: Workspace, absolute: string, relative: string) {
  const link = statOrNull(absolute, true);
  if (!link?.isSymbolicLink()) return link;
  try {
    return statOrNull(workspace.resolve(relative).real) ?? link;
  } catch {
    return link;
  }
}

export function statOrThrow(target: ResolvedPath, path: string) {
  try {
    return statSync(target.real);
  } catch (error) {
    throw fileSystemError(error, path);
  }
}

export function statOrNull(path: string, withoutFollowing = false) {
  try {
    return withoutFollowing ? lstatSync(path) : statSync(path);
  } catch {
    return null;
  }
}

/** errno → the contract's codes; anything unexpected stays an internal error. */
export function fileSystemError(error: unknown, path: string): unknown {
  if (error instanceof BayError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT" || code === "ENOTDIR") return new BayError("file_not_found", `${path} does not exist`, { path });
  if (code === "EISDIR") return new BayError("validation_error", `${path} is a directory`, { path });
  if (code === "EACCES" || code === "EPERM") return new BayError("validation_error", `permission denied on ${path}`, { path });
  if (code === "ENOSPC" || code === "EDQUOT") return new BayError("validation_error", `no space left for ${path}`, { path });
  return error;
}
