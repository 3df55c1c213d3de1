import { parseEventStream } from "../../src/kit/front-door.ts";
import { SandboxCalls, sandboxPath, workspacePath } from "./bay-calls.ts";
import { ConnectError } from "./connect-protocol.ts";

/**
 * envd's filesystem service (filesystem.Filesystem) on Bay's file routes.
 * Paths are E2B's (absolute, /home/user standing for the workspace);
 * answers name entries by their path in the sandbox.
 */

interface FileInfo {
  name: string;
  path: string;
  type: "file" | "dir" | "symlink" | "other";
  size: number;
  mode: number;
  permissions: string;
  owner: string;
  group: string;
  modified_time: string;
  symlink_target: string | null;
}

interface DirectoryEntry {
  name: string;
  path: string;
  is_dir: boolean;
  size: number;
  modified_time: string;
}

const FILE_TYPES = { file: "FILE_TYPE_FILE", dir: "FILE_TYPE_DIRECTORY", symlink: "FILE_TYPE_SYMLINK", other: "FILE_TYPE_FILE" } as const;
const CHANGE_TYPES: Record<string, string> = {
  create: "EVENT_TYPE_CREATE",
  write: "EVENT_TYPE_WRITE",
  remove: "EVENT_TYPE_REMOVE",
  rename: "EVENT_TYPE_RENAME",
};

const query = (path: unknown) => encodeURIComponent(workspacePath(path));

export async function stat(calls: SandboxCalls, request: Record<string, unknown>) {
  return { entry: entryOf(await calls.json<FileInfo>("GET", `/filesystem/stat?path=${query(request.path)}`)) };
}

export async function listDirectory(calls: SandboxCalls, request: Record<string, unknown>) {
  const depth = Math.min(10, Math.max(1, Number(request.depth) || 1));
  const { entries } = await calls.json<{ entries: DirectoryEntry[] }>("GET", `/filesystem/directories?path=${query(request.path)}&depth=${depth}`);
  return {
    entries: entries.map((entry) => ({
      name: entry.name,
      type: entry.is_dir ? FILE_TYPES.dir : FILE_TYPES.file,
      path: sandboxPath(entry.path),
      size: entry.size,
      modifiedTime: entry.modified_time,
    })),
  };
}

export async function makeDirectory(calls: SandboxCalls, request: Record<string, unknown>) {
  const path = workspacePath(request.path);
  const made = await calls.json<{ created: boolean }>("POST", "/filesystem/directories", { json: { path } });
  if (!made.created) throw new ConnectError("already_exists", `${sandboxPath(path)} already exists`, 409);
  return { entry: entryOf(await calls.json<FileInfo>("GET", `/filesystem/stat?path=${encodeURIComponent(path)}`)) };
}

export async function move(calls: SandboxCalls, request: Record<string, unknown>) {
  const moved = await calls.json<FileInfo>("POST", "/filesystem/move", {
    json: { source: workspacePath(request.source), destination: workspacePath(request.destination) },
  });
  return { entry: entryOf(moved) };
}

export async function remove(calls: SandboxCalls, request: Record<string, unknown>) {
  await calls.json("DELETE", `/filesystem/files?path=${query(request.path)}`);
  return {};
}

/** WatchDir: `start`, then the directory's changes (names relative to it) until the client leaves. */
export async function watchDirectory(calls: SandboxCalls, request: Record<string, unknown>, send: (message: object) => void, signal: AbortSignal) {
  const path = workspacePath(request.path);
  const stream = await calls.raw("GET", `/filesystem/watch?path=${encodeURIComponent(path)}&recursive=${request.recursive === true}`);
  for await (const event of parseEventStream(stream.body!, { signal })) {
    if (event.event === "ready") send({ start: {} });
    const type = CHANGE_TYPES[event.event];
    if (!type) continue;
    const change = event.data as { path: string; destination?: string };
    const nameOf = (changed: string) => (path === "." ? changed : changed.slice(path.length + 1));
    send({ filesystem: { name: nameOf(change.path), type } });
    // As envd reports a move: the old name renamed, the new one created.
    if (change.destination !== undefined) send({ filesystem: { name: nameOf(change.destination), type: CHANGE_TYPES.create } });
  }
}

function entryOf(info: FileInfo) {
  return {
    name: info.name,
    type: FILE_TYPES[info.type],
    path: sandboxPath(info.path),
    size: info.size,
    mode: info.mode,
    permissions: info.permissions,
    owner: info.owner,
    group: info.group,
    modifiedTime: info.modified_time,
    ...(info.symlink_target === null ? {} : { symlinkTarget: info.symlink_target }),
  };
}
