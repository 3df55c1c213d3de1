import type { Server } from "bun";
import { consola } from "consola";
import type { BayCore } from "./bay-core.ts";

/** With the engine not answering, engine work at shutdown gets only this long (enough to write the rows). */
const UNREACHABLE_ENGINE_BUDGET_MS = 500;

/**
 * Stops accepting requests, gives those in flight server.shutdown_grace_seconds
 * to finish, cuts the rest, optionally removes running sandboxes' containers
 * (by default they keep running and the next start adopts them), and closes
 * the database. A hung engine cannot hold it: each engine step has a budget,
 * and what is left undone is reconciled by the next start.
 */
export async function shutdownGracefully(server: Server<unknown>, core: BayCore): Promise<void> {
  const graceMs = core.config.server.shutdown_grace_seconds * 1000;
  const drained = server.stop(false).then(() => true);
  const inTime = await Promise.race([drained, Bun.sleep(graceMs).then(() => false)]);
  if (!inTime) {
    consola.warn(`bay serve: requests still running after ${graceMs / 1000} s; cutting them`);
    await server.stop(true);
  }
  const engineUp = await core.driver.ping().then(
    () => true,
    (error: Error) => {
      consola.warn(`bay serve: ${error.message}; engine objects are left for the next start to reconcile`);
      return false;
    },
  );
  const budgetMs = engineUp ? core.driver.callDeadlineMs + 1000 : UNREACHABLE_ENGINE_BUDGET_MS;
  if (core.config.server.drain_warm_pools_on_shutdown) await withinBudget(core.pool.drain(), budgetMs, "draining warm pools");
  if (core.config.server.stop_sessions_on_shutdown) {
    const running = await core.sessions.runningSandboxIds();
    const stopped = Promise.all(running.map((id) => core.sessions.stop(id, "shutdown").catch(() => undefined)));
    if (await withinBudget(stopped, budgetMs, "stopping sandbox containers")) {
      consola.info(`bay serve: stopped ${running.length} sandbox container(s)`);
    }
  }
  await withinBudget(core.close(), budgetMs, "closing");
  consola.info("bay serve: stopped");
}

/** Waits for `work` at most `budgetMs`; false (and a warning) if it did not finish. */
async function withinBudget(work: Promise<unknown>, budgetMs: number, what: string): Promise<boolean> {
  let timer: Timer | undefined;
  const done = await Promise.race([
    work.then(
      () => true,
      () => true,
    ),
    new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), budgetMs))),
  ]);
  clearTimeout(timer);
  if (!done) consola.warn(`bay serve: ${what} did not finish within ${budgetMs / 1000} s; going on`);
  return done;
}
