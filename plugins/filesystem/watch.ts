import { existsSync, watch } from "node:fs";
import { join } from "node:path";
import { BayError, eventStreamResponse, type Workspace } from "../../src/kit/agent.ts";
import { statOrThrow } from "./entries.ts";

/** Changes held for a slow reader; past this many the oldest are dropped and an `overflow` event says so. */
const MAX_PENDING_CHANGES = 10_000;

type Change = { type: "create" | "write" | "remove"; path: string };

/**
 * Watches a directory (inotify, through fs.watch) and answers its changes as
 * server-sent events: `ready` once the watch is in place, then `create`,
 * `write` or `remove` with the path relative to /workspace (a rename is a
 * remove and a create). The watch ends when the reader goes away.
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
      const type = eventType === "change" ? "write" : existsSync(join(target.real, name)) ? "create" : "remove";
      if (pending.length >= MAX_PENDING_CHANGES) {
        pending.shift();
        dropped++;
      }
      pending.push({ type, path: relative });
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
        if (dropped > 0) {
          await send("overflow", { dropped });
          dropped = 0;
        }
        for (const change of pending.splice(0)) await send(change.type, { path: change.path });
      }
    } finally {
      signal.removeEventListener("abort", stop);
      watcher.close();
    }
  });
}
