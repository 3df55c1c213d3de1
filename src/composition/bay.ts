/**
 * Assembles Bay from its parts: config checked against the installed
 * plugins, the configured driver, the core over it, and the HTTP app with
 * every capability's routes. `bay serve`, `bay exec` and the tests start
 * Bay through here; the agent starts through ./agent.ts, which loads none of this.
 */
import { createApp, type BayApp } from "../api/app.ts";
import { createBayCore, type BayCore } from "../core/bay-core.ts";
import { driverSettings, type BayConfig } from "../core/config/index.ts";
import type { Driver } from "../core/driver.ts";
import { configureLogging } from "../core/logging.ts";
import { CAPABILITIES, FRONT_DOORS, driverPlugin } from "./registry.ts";

export { loadBayConfig } from "./config.ts";

/** The configured driver, created from its validated settings; a driver that cannot serve refuses here. */
export function createDriver(config: BayConfig): Promise<Driver> {
  const runtimes = [...new Set(config.profiles.map((profile) => profile.runtime))];
  return driverPlugin(config.driver.type).create(driverSettings(config), { dataDir: config.data_dir, runtimes });
}

/** The core over the configured driver (or a given one: tests pass an in-memory driver). */
export async function createBay(config: BayConfig, driver?: Driver): Promise<BayCore> {
  // Before the driver, which says where Bay runs as it starts.
  configureLogging(config.log);
  return createBayCore(config, driver ?? (await createDriver(config)));
}

export function createBayApp(core: BayCore): Promise<BayApp> {
  return createApp(core, CAPABILITIES, FRONT_DOORS);
}
