export { loadConfig, DEFAULT_PROFILE_ID, DEFAULT_IMAGE, type ConfigSources } from "./load.ts";
export { BayConfigSchema, CAPABILITY_NAMES, type BayConfig, type ProfileConfig, type CapabilityName } from "./schema.ts";
