import { lostContainerReason } from "./container-end.ts";
import type { ContainerInfo } from "./driver.ts";
import type { AgentClient } from "./agent-client.ts";

/** A call that has not been answered this long starts having its agent's /health probed. */
const FIRST_PROBE_AFTER_MS = 3000;
const PROBE_INTERVAL_MS = 2000;
const PROBE_TIMEOUT_MS = 2000;
/**
 * Consecutive missed probes after which a running (not paused) container's
 * agent counts as wedged: long enough that a busy sandbox is not mistaken
 * for a dead one, since the agent answers /health while user code runs.
 */
const MISSED_PROBES_TO_GIVE_UP = 3;

/** Why an agent no longer serves a call: frozen or unresponsive, or its container ended. */
export interface LostAgent {
  kind: "wedged" | "ended";
  reason: string;
}

export interface LivenessWatch {
  /** Resolves once the agent is judged lost; never while it answers. */
  lost: Promise<LostAgent>;
  cancel(): void;
}

/**
 * Watches an agent while a call to it waits: a paused container, an agent
 * that misses its health checks in a row, or a container that ended while
 * the call still waits (its address may no longer answer at all) is
 * reported at once instead of costing the caller the call's own timeout.
 */
export function watchLiveness(client: AgentClient, inspect: () => Promise<ContainerInfo | null>): LivenessWatch {
  let cancelled = false;
  let timer: Timer | undefined;
  const pause = (ms: number) => new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  const lost = (async (): Promise<LostAgent> => {
    await pause(FIRST_PROBE_AFTER_MS);
    let missed = 0;
    while (!cancelled) {
      if (await client.health(PROBE_TIMEOUT_MS)) {
        missed = 0;
      } else if (!cancelled) {
        const info = await inspect().catch(() => undefined);
        // An unreachable engine (undefined) decides nothing.
        if (info === null || (info && !info.running)) return { kind: "ended", reason: lostContainerReason(info) };
        if (info?.paused) return { kind: "wedged", reason: lostContainerReason(info) };
        if (info?.running && ++missed >= MISSED_PROBES_TO_GIVE_UP) {
          return { kind: "wedged", reason: `agent stopped answering (${missed} health checks of ${PROBE_TIMEOUT_MS / 1000} s missed)` };
        }
      }
      if (!cancelled) await pause(PROBE_INTERVAL_MS);
    }
    return new Promise<LostAgent>(() => undefined);
  })();
  return {
    lost,
    cancel() {
      cancelled = true;
      clearTimeout(timer);
    },
  };
}
