import { forEachItem, type GcTask } from "./task.ts";

const MIB = 1024 * 1024;

/**
 * Cargos past their size_limit_mb, measured by the engine: the sandbox using
 * one loses its running session, with the reason recorded as its state
 * reset, so that the writing stops while every other sandbox carries on.
 * The next call starts it again (to delete files); if it is still over at
 * the next run, it is stopped again.
 */
export const cargoSizeLimits: GcTask = async ({ store, driver, sessions }) => {
  const running = (
    await Promise.all(
      (await store.sessionsWithStatus("running")).map(async (session) => {
        const sandbox = await store.findSandboxById(session.sandboxId);
        const cargo = sandbox ? await store.findCargoById(sandbox.cargoId) : undefined;
        return cargo ? [{ session, cargo }] : [];
      }),
    )
  ).flat();
  if (running.length === 0) return { cleaned: 0, skipped: 0, errors: [] };
  const sizes = await driver.volumeSizes(running.map(({ cargo }) => cargo.volumeName));
  return forEachItem(running, async ({ session, cargo }) => {
    const size = sizes.get(cargo.volumeName);
    if (size === undefined || size <= cargo.sizeLimitMb * MIB) return false;
    const reason = `cargo ${cargo.id} is over its size limit (${Math.ceil(size / MIB)} MiB of ${cargo.sizeLimitMb} MiB); delete files to go on`;
    return sessions.handleDeath(session.id, reason);
  });
};
