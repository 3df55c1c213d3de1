import type { AnyElysia } from "elysia";
import type { DriverPlugin } from "./driver.ts";
import type { AgentCapabilityFactory } from "../agent/capability.ts";
import type { CapabilityRouteContext } from "../api/capability-context.ts";

export type CapabilityRoutesFactory = (context: CapabilityRouteContext) => AnyElysia;

/**
 * A capability is one folder under plugins/: Bay-side routes and agent-side
 * handlers, each loaded lazily so that `bay ship` never loads the API stack
 * and `bay serve` never loads agent code.
 */
export interface CapabilityPlugin {
  /** The folder name under plugins/, and what profiles list in `capabilities`. */
  name: string;
  loadBayRoutes(): Promise<CapabilityRoutesFactory>;
  loadAgent(): Promise<AgentCapabilityFactory>;
}

// Literal import paths: a compiled binary bundles only what it can see.
// The order is the default `capabilities` of a profile.
const CAPABILITY_PLUGINS: Record<string, () => Promise<{ default: CapabilityPlugin }>> = {
  filesystem: () => import("../../plugins/filesystem/index.ts"),
  shell: () => import("../../plugins/shell/index.ts"),
  python: () => import("../../plugins/python/index.ts"),
};

const DRIVER_PLUGINS: Record<string, () => Promise<{ default: DriverPlugin }>> = {
  docker: () => import("../../drivers/docker/index.ts"),
  k8s: () => import("../../drivers/k8s/index.ts"),
};

export function installedCapabilities(): string[] {
  return Object.keys(CAPABILITY_PLUGINS);
}

export async function loadCapabilityPlugins(): Promise<CapabilityPlugin[]> {
  return Promise.all(Object.values(CAPABILITY_PLUGINS).map(async (load) => (await load()).default));
}

export async function loadDriverPlugin(name: string): Promise<DriverPlugin> {
  const load = DRIVER_PLUGINS[name];
  if (!load) throw new Error(`unknown driver "${name}"; built in: ${Object.keys(DRIVER_PLUGINS).join(", ")}`);
  return (await load()).default;
}
