import type { AgentClient } from "./agent-client.ts";
import type { Driver } from "./driver.ts";
import { AgentError, AgentTimeoutError } from "../shared/errors.ts";

/** How often, while waiting, the container is asked whether it still runs. */
const LIVENESS_CHECK_MS = 500;
/** Polled this often while an agent usually gets ready (a cold start's time is mostly this wait), then less. */
const QUICK_POLL_MS = 5;
const QUICK_POLLS_FOR_MS = 3000;
const SLOW_POLL_MS = 100;

/**
 * Waits for a new container's agent to answer /health, polling quickly at
 * first. Fails fast, with the container's last log lines, when the container
 * ends before its agent is ready.
 */
export async function waitForAgent(agent: AgentClient, driver: Driver, containerId: string, timeoutSeconds: number): Promise<void> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  const quickUntil = Date.now() + QUICK_POLLS_FOR_MS;
  let nextLivenessCheck = Date.now() + LIVENESS_CHECK_MS;
  while (Date.now() < deadline) {
    if (await agent.health(1000)) return;
    if (Date.now() >= nextLivenessCheck) {
      nextLivenessCheck = Date.now() + LIVENESS_CHECK_MS;
      const info = await driver.inspectContainer(containerId);
      if (!info?.running) {
        const logs = (await driver.readLogs(containerId, 20)).trim();
        throw new AgentError(`the agent exited before it was ready${logs ? `: ${logs.slice(-1000)}` : ""}`, {
          container_logs: logs.slice(-4000),
        });
      }
    }
    await Bun.sleep(Date.now() < quickUntil ? QUICK_POLL_MS : SLOW_POLL_MS);
  }
  throw new AgentTimeoutError(`the agent did not become ready within ${timeoutSeconds} s`, {});
}
