import { lstatSync, watch } from "node:fs";
import { join } from "node:path";
import { BayError, eventStreamResponse, type Workspace } from "../../src/kit/agent.ts";
import { statOrThrow } from "./entries.ts";

/** Changes held for a slow reader; past this many the oldest are dropped and an `overflow` event says so. */
const MAX_PENDING_CHANGES = 10_000;

/**
 * inotify reports a move as its two halves, one right after the other; a
 * removal followed this soon by a creation is taken for one (a rename).
 */
const RENAME_WINDOW_MS = 10;

type Change = { type: "create" | "write" | "remove" | "rename"; path: string; destination?: string; at: number };

/**
 * Watches a directory (inotify, through fs.watch) and answers its changes as
 * server-sent events: `ready` once the watch is in place, then `create`,
 * `write`, `remove` or `rename` (with its `destination`) with paths relative
 * to /workspace. The watch ends when the reader goes away.
 */
export function watchResponse(workspace: Workspace, path: string, recursive: boolean): Response {
  const target = workspace.resolve(path);
  if (!statOrThrow(target, path).isDirectory()) throw new BayError("validation_error", `${path} is not a directory`, { path });
  return eventStreamResponse(async (send, signal) => {
    const pending: Change[] = [];
    let dropped = 0;
    let wake: (() => void) | undefined;
    const watcher = watch(target.real, { recursive }, (eventType, filename) => {
      if (!filename) return;
      const name = filename.toString();
      const relative = target.relative === "." ? name : `${target.relative}/${name}`;
      const type = eventType === "change" ? "write" : lstatSync(join(target.real, name), { throwIfNoEntry: false }) ? "create" : "remove";
      const now = Date.now();
      const last = pending.at(-1);
      if (type === "create" && last?.type === "remove" && now - last.at < RENAME_WINDOW_MS) {
        Object.assign(last, { type: "rename", destination: relative });
        wake?.();
        return;
      }
      if (pending.length >= MAX_PENDING_CHANGES) {
        pending.shift();
        dropped++;
      }
      pending.push({ type, path: relative, at: now });
      wake?.();
    });
    // The directory went away (or the watch broke): the stream ends.
    let ended = false;
    watcher.on("error", () => {
      ended = true;
      wake?.();
    });
    const stop = () => wake?.();
    signal.addEventListener("abort", stop, { once: true });
    try {
      await send("ready", { path: target.relative, recursive });
      while (!signal.aborted && !ended) {
        if (pending.length === 0 && !ended) await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        // A removal is held for a moment: the creation that makes it a rename may follow.
        const last = pending.at(-1);
        if (last?.type === "remove") await Bun.sleep(Math.max(0, last.at + RENAME_WINDOW_MS - Date.now()));
        if (dropped > 0) {
          await send("overflow", { dropped });
          dropped = 0;
        }
        for (const change of pending.splice(0)) {
          await send(change.type, change.destination === undefined ? { path: change.path } : { path: change.path, destination: change.destination });
        }
      }
    } finally {
      signal.removeEventListener("abort", stop);
      watcher.close();
    }
  });
}
