/**
 * Bay's configuration, checked against the installed plugins. Apart from
 * ./bay.ts so that a command that only reads the config (every client
 * command's flags) does not load the core and the app with it.
 */
import { loadConfig, type BayConfig, type ConfigSources } from "../core/config/index.ts";
import { CATALOG } from "./registry.ts";

export function loadBayConfig(sources: ConfigSources = {}): BayConfig {
  return loadConfig(sources, CATALOG);
}
