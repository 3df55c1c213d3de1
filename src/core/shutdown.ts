import type { Server } from "bun";
import { consola } from "consola";
import type { BayCore } from "./bay-core.ts";

/**
 * Stops accepting requests, gives those in flight server.shutdown_grace_seconds
 * to finish, cuts the rest, optionally removes running sandboxes' containers
 * (by default they keep running and the next start adopts them), and closes
 * the database.
 */
export async function shutdownGracefully(server: Server<unknown>, core: BayCore): Promise<void> {
  const graceMs = core.config.server.shutdown_grace_seconds * 1000;
  const drained = server.stop(false).then(() => true);
  const inTime = await Promise.race([drained, Bun.sleep(graceMs).then(() => false)]);
  if (!inTime) {
    consola.warn(`bay serve: requests still running after ${graceMs / 1000} s; cutting them`);
    await server.stop(true);
  }
  if (core.config.server.drain_warm_pools_on_shutdown) await core.pool.drain();
  if (core.config.server.stop_sessions_on_shutdown) {
    const running = core.sessions.runningSandboxIds();
    await Promise.all(running.map((id) => core.sessions.stop(id, "shutdown").catch(() => undefined)));
    consola.info(`bay serve: stopped ${running.length} sandbox container(s)`);
  }
  await core.close();
  consola.info("bay serve: stopped");
}
