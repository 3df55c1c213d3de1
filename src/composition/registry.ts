/**
 * The composition root's registry: the only module that names the installed
 * capability plugins and drivers. Everything else receives them as
 * parameters. Literal imports, so that the compiled binary bundles them.
 */
import type { PluginCatalog } from "../core/config/index.ts";
import type { DriverPlugin } from "../core/driver.ts";
import type { CapabilityPlugin } from "../kit/capability.ts";
import type { FrontDoorSource } from "../kit/front-door.ts";
import e2b from "../../front-doors/e2b/index.ts";
import mcp from "../../front-doors/mcp/index.ts";
import docker from "../../drivers/docker/index.ts";
import k8s from "../../drivers/k8s/index.ts";
import filesystem from "../../plugins/filesystem/index.ts";
import python from "../../plugins/python/index.ts";
import shell from "../../plugins/shell/index.ts";

/** In the order a profile lists them by default. */
export const CAPABILITIES: readonly CapabilityPlugin[] = [filesystem, shell, python];

/** Other APIs served under their own prefix, each on or off by its config section. */
export const FRONT_DOORS: readonly FrontDoorSource[] = [e2b, mcp];

/** The first is the default `driver.type`. */
export const DRIVERS: readonly DriverPlugin<any>[] = [docker, k8s];

/** What the config loader checks profiles and `driver.*` against. */
export const CATALOG: PluginCatalog = {
  capabilities: CAPABILITIES.map((capability) => capability.name),
  driverSettings: Object.fromEntries(DRIVERS.map((driver) => [driver.name, driver.settingsSchema])),
  defaultDriver: DRIVERS[0]!.name,
};

export function driverPlugin(name: string): DriverPlugin<any> {
  const plugin = DRIVERS.find((driver) => driver.name === name);
  // The loader has checked driver.type against CATALOG already.
  if (!plugin) throw new Error(`no driver is named "${name}"`);
  return plugin;
}
