import type { Bay } from "../client/index.ts";
import type { Connection } from "./connection.ts";
import { progress } from "./output.ts";

const POLL_MS = 300;

/** Says on stderr that the call will wait for a container to start, when it will. */
export async function announceColdStart(bay: Bay, sandboxId: string): Promise<void> {
  const sandbox = await bay.sandboxes.get(sandboxId);
  if (sandbox.status !== "ready") progress(`bay: starting sandbox ${sandboxId}…`);
}

/**
 * While a call waits on a daemon, shows on stderr what the sandbox's start
 * is busy with when it is slow (status_detail: pulling the image). Embedded,
 * the core's own progress lines already say so. Returns a function to stop.
 */
export function watchStart(connection: Connection, sandboxId: string): () => void {
  if (connection.mode === "embedded") return () => undefined;
  let stopped = false;
  let shown: string | null = null;
  void (async () => {
    while (!stopped) {
      const sandbox = await connection.bay.sandboxes.get(sandboxId).catch(() => null);
      if (stopped || !sandbox) return;
      if (sandbox.status_detail && sandbox.status_detail !== shown) {
        shown = sandbox.status_detail;
        progress(`bay: ${shown}`);
      }
      if (sandbox.status === "ready" || sandbox.status === "failed") return;
      await Bun.sleep(POLL_MS);
    }
  })();
  return () => {
    stopped = true;
  };
}
