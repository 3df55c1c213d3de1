export { loadConfig, driverSettings, DEFAULT_PROFILE_ID, DEFAULT_IMAGE, type ConfigSources, type PluginCatalog } from "./load.ts";
export { BayConfigSchema, type BayConfig, type ProfileConfig, type QuotaConfig } from "./schema.ts";
