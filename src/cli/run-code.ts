import type { Bay } from "../client/index.ts";
import { progress } from "./output.ts";

/** Says on stderr that the call will wait for a container to start, when it will. */
export async function announceColdStart(bay: Bay, sandboxId: string): Promise<void> {
  const sandbox = await bay.sandboxes.get(sandboxId);
  if (sandbox.status !== "ready") progress(`bay: starting sandbox ${sandboxId}…`);
}
