import { closeSync, constants, fstatSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { BayError, Workspace, handle, invalidPath, type AgentCapabilityFactory, type ResolvedPath } from "../../src/kit/agent.ts";
import { fileInfo, fileSystemError, listDirectory, makeDirectory, moveEntry, statOrNull, statOrThrow } from "./entries.ts";
import { DELETE_FILE, DOWNLOAD_FILE, FILE_INFO, LIST_DIRECTORY, MAKE_DIRECTORY, MOVE_ENTRY, READ_FILE, UPLOAD_FILE, WATCH_DIRECTORY, WRITE_FILE } from "./routes.ts";
import { watchResponse } from "./watch.ts";

/** Larger text files are refused by read_file; download serves any size. */
export const MAX_TEXT_READ_BYTES = 16 * 1024 * 1024;

const createFilesystemAgent: AgentCapabilityFactory = async (context) => {
  const workspace = new Workspace(context.workspace);

  return {
    info: { mount_path: context.workspace, max_text_read_bytes: MAX_TEXT_READ_BYTES },
    handlers: [
      handle(READ_FILE, async ({ path }) => ({ content: readText(workspace, path) })),
      handle(WRITE_FILE, async ({ path, content }) => {
        await writeBytes(workspace, path, content);
        return { status: "ok" };
      }),
      handle(LIST_DIRECTORY, async ({ path, depth }) => ({ entries: listDirectory(workspace, path ?? ".", depth ?? 1) })),
      handle(FILE_INFO, async ({ path }) => fileInfo(workspace, path)),
      handle(MAKE_DIRECTORY, async ({ path }) => makeDirectory(workspace, path)),
      handle(MOVE_ENTRY, async ({ source, destination }) => moveEntry(workspace, source, destination)),
      handle(WATCH_DIRECTORY, async ({ path, recursive }) => watchResponse(workspace, path ?? ".", recursive ?? false)),
      handle(DELETE_FILE, async ({ path }) => {
        deleteEntry(workspace, path);
        return { status: "ok" };
      }),
      handle(UPLOAD_FILE, async ({ path }, request) => {
        // Opened (path and parents checked) before any byte is taken; the bytes are written as they stream in from Bay.
        const { target, fd } = openForWriting(workspace, path);
        let size = 0;
        try {
          if (request.body) {
            for await (const chunk of request.body) {
              for (let written = 0; written < chunk.byteLength; ) written += writeSync(fd, chunk, written);
              size += chunk.byteLength;
            }
          }
        } catch (error) {
          // A transfer that broke off (Bay cut it, or its client went away) leaves no partial file.
          rmSync(target.real, { force: true });
          throw fileSystemError(error, path);
        } finally {
          closeSync(fd);
        }
        return { status: "ok", path: target.relative, size };
      }),
      handle(DOWNLOAD_FILE, async ({ path }) => {
        const target = workspace.resolve(path);
        const stats = statOrThrow(target, path);
        if (!stats.isFile()) throw new BayError("validation_error", `${path} is not a regular file`, { path });
        return new Response(Bun.file(target.real), {
          headers: {
            "content-type": "application/octet-stream",
            "content-length": String(stats.size),
            "content-disposition": `attachment; filename="${encodeURIComponent(target.real.split("/").pop() ?? "file")}"`,
          },
        });
      }),
    ],
    close: async () => undefined,
  };
};

function readText(workspace: Workspace, path: string): string {
  const { fd, size } = openForReading(workspace, path);
  try {
    if (size > MAX_TEXT_READ_BYTES) {
      throw new BayError("validation_error", `${path} is larger than ${MAX_TEXT_READ_BYTES} bytes; use the download route`, { path, size });
    }
    const bytes = readFileSync(fd);
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      throw new BayError("validation_error", `${path} is not UTF-8 text; use the download route for binary files`, { path });
    }
  } finally {
    closeSync(fd);
  }
}

/** Opens a regular file for reading; whoever reads owns the descriptor. */
export function openForReading(workspace: Workspace, path: string): { target: ResolvedPath; fd: number; size: number } {
  const target = workspace.resolve(path);
  // Non-blocking, so that a FIFO cannot hold the open.
  const fd = openResolved(target, path, constants.O_RDONLY | constants.O_NONBLOCK);
  const stats = fstatSync(fd);
  if (stats.isFile()) return { target, fd, size: stats.size };
  closeSync(fd);
  // A FIFO or device would block the read or never end.
  throw new BayError("validation_error", stats.isDirectory() ? `${path} is a directory` : `${path} is not a regular file`, { path });
}

async function writeBytes(workspace: Workspace, path: string, content: string | Blob): Promise<ResolvedPath> {
  const { target, fd } = openForWriting(workspace, path);
  try {
    writeFileSync(fd, typeof content === "string" ? content : await content.bytes());
  } catch (error) {
    throw fileSystemError(error, path);
  } finally {
    closeSync(fd);
  }
  return target;
}

/** Creates missing parents and opens the file truncated; whoever writes owns the descriptor. */
export function openForWriting(workspace: Workspace, path: string): { target: ResolvedPath; fd: number } {
  const target = workspace.resolve(path);
  if (target.relative === ".") throw new BayError("invalid_path", "cannot write to the workspace directory itself", { path });
  // The parent is resolved again: a symlinked parent directory must not lead outside.
  const parent = workspace.resolve(workspace.relativeOf(dirname(target.real)));
  try {
    mkdirSync(parent.real, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST" || code === "ENOTDIR") {
      throw new BayError("validation_error", `a parent of ${path} is not a directory`, { path });
    }
    throw fileSystemError(error, path);
  }
  const existing = statOrNull(target.real);
  if (existing?.isDirectory()) throw new BayError("validation_error", `${path} is a directory`, { path });
  if (existing && !existing.isFile()) throw new BayError("validation_error", `${path} is not a regular file`, { path });
  const fd = openResolved(target, path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NONBLOCK, 0o644);
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw new BayError("validation_error", `${path} is not a regular file`, { path });
  }
  return { target, fd };
}

/**
 * The agent works with the sandbox user's effective uid, so the kernel checks
 * every open as it would user code's. The open is synchronous (never on a
 * worker thread while the agent briefly holds root to start user code) and
 * refuses a final symlink swapped in since resolution; reads and writes then
 * go through the descriptor only.
 */
function openResolved(target: ResolvedPath, path: string, flags: number, mode?: number): number {
  try {
    return openSync(target.real, flags | constants.O_NOFOLLOW, mode);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ELOOP") throw invalidPath(path, "path", "was replaced by a symbolic link");
    throw fileSystemError(error, path);
  }
}

function deleteEntry(workspace: Workspace, path: string): void {
  const target = workspace.resolve(path);
  if (target.relative === ".") throw new BayError("invalid_path", "cannot delete the workspace directory itself", { path });
  if (!statOrNull(target.lexical, true)) throw new BayError("file_not_found", `${path} does not exist`, { path });
  try {
    // The entry itself: a symlink is removed, never what it points to.
    rmSync(target.lexical, { recursive: true, force: false });
  } catch (error) {
    throw fileSystemError(error, path);
  }
}

export default createFilesystemAgent;
