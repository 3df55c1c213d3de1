import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, resolve } from "node:path";
import { Value } from "@sinclair/typebox/value";
import { ANONYMOUS_OWNER, DEFAULT_OWNER } from "../owners.ts";
import { ConfigError, preview } from "../../shared/errors.ts";
import { parseAllowEntry } from "../network-policy.ts";
import type { TSchema } from "@sinclair/typebox";
import { BayConfigSchema, type BayConfig, type ProfileConfig } from "./schema.ts";
import { dottedPath } from "../../shared/schema-path.ts";
import { AGENT_INTERNAL_ENV } from "../../shared/agent-protocol.ts";

export const DEFAULT_PROFILE_ID = "python-default";
export const DEFAULT_IMAGE = "python:3.12-slim";

/** Variables that are shortcuts or belong to clients, not config paths. */
const NON_PATH_VARIABLES = new Set(["BAY_CONFIG", "BAY_API_KEY", "BAY_DEFAULT_IMAGE", "BAY_URL", "BAY_DATABASE_URL"]);

type Plain = Record<string, unknown>;

export interface ConfigSources {
  /** Path given with --config; wins over BAY_CONFIG and ./bay.yaml. */
  file?: string;
  env?: Record<string, string | undefined>;
  /** Command-line flags, already shaped like the config. */
  flags?: Plain;
  cwd?: string;
}

/**
 * What the config is checked against beyond Bay's own schema: the installed
 * plugins, as the composition root (src/composition/registry.ts) knows them.
 */
export interface PluginCatalog {
  /** Capability names, in the order a profile lists them by default. */
  capabilities: readonly string[];
  /** Each driver's settings schema (`driver.<name>`), by name. */
  driverSettings: Readonly<Record<string, TSchema>>;
  /** What `driver.type` is when the config does not say. */
  defaultDriver: string;
}

/** Defaults < YAML file < BAY_* environment < flags, then validated. */
export function loadConfig(sources: ConfigSources, catalog: PluginCatalog): BayConfig {
  const env = sources.env ?? process.env;
  const cwd = sources.cwd ?? process.cwd();

  let merged: Plain = readConfigFile(sources.file ?? env.BAY_CONFIG, cwd);
  merged = deepMerge(merged, environmentOverrides(env));
  merged = deepMerge(merged, sources.flags ?? {});
  applyShortcuts(merged, env);

  defaultCapabilities(merged, catalog);
  defaultDriver(merged, catalog);
  const config = validate(BayConfigSchema, merged, "") as BayConfig;
  config.driver = validateDriverSection(config.driver, catalog);
  config.data_dir = expandPath(config.data_dir, cwd);
  if (config.ship.binary_path) config.ship.binary_path = expandPath(config.ship.binary_path, cwd);
  checkCrossFieldRules(config, catalog);
  addBuiltinProfile(config, env.BAY_DEFAULT_IMAGE, catalog);
  return config;
}

function readConfigFile(explicit: string | undefined, cwd: string): Plain {
  const path = explicit ? expandPath(explicit, cwd) : resolve(cwd, "bay.yaml");
  if (!existsSync(path)) {
    if (explicit) throw new ConfigError("config", `file ${path} does not exist`);
    return {};
  }
  let parsed: unknown;
  try {
    parsed = Bun.YAML.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new ConfigError("config", `${path} is not valid YAML: ${(error as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (!isPlainObject(parsed)) throw new ConfigError("config", `${path} must hold a mapping at the top level`);
  return parsed;
}

/** BAY_SERVER__PORT=9000 → {server:{port:"9000"}}; conversion to numbers happens at validation. */
export function environmentOverrides(env: Record<string, string | undefined>): Plain {
  const topLevelKeys = new Set(Object.keys(BayConfigSchema.properties));
  const overrides: Plain = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith("BAY_") || raw === undefined || NON_PATH_VARIABLES.has(name)) continue;
    const path = name.slice(4).toLowerCase().split("__");
    if (!topLevelKeys.has(path[0]!)) continue;
    setPath(overrides, path, parseEnvironmentValue(raw));
  }
  return overrides;
}

function parseEnvironmentValue(raw: string): unknown {
  const trimmed = raw.trim();
  if (trimmed.startsWith("[") || trimmed.startsWith("{")) {
    try {
      return JSON.parse(trimmed);
    } catch {
      return raw;
    }
  }
  if (trimmed === "null") return null;
  return raw;
}

function applyShortcuts(config: Plain, env: Record<string, string | undefined>): void {
  if (env.BAY_DATABASE_URL) ((config.database ??= {}) as Plain).url = env.BAY_DATABASE_URL;
  if (env.BAY_API_KEY) {
    const security = (config.security ??= {}) as Plain;
    const keys = (security.api_keys ??= []) as unknown[];
    if (!Array.isArray(keys)) return;
    // The single key of a one-user install may also run admin routes.
    keys.push({ key: env.BAY_API_KEY, owner: DEFAULT_OWNER, admin: true });
  }
}

/** Applies the schema's defaults and conversions; the first problem is a ConfigError naming its key under `prefix`. */
function validate(schema: TSchema, input: unknown, prefix: string): unknown {
  const value = Value.Default(schema, Value.Clone(input));
  const converted = Value.Convert(schema, value);
  const first = Value.Errors(schema, converted).First();
  if (first) {
    const path = dottedPath(first.path);
    const key = [prefix, path].filter(Boolean).join(".") || "(root)";
    const shown = first.value === undefined ? "missing" : `got ${JSON.stringify(first.value)}`;
    throw new ConfigError(key, `${describeExpectation(first.schema as { anyOf?: MemberSchema[] }, first.message)} (${shown})`);
  }
  return converted;
}

/** A profile that does not list capabilities gets every installed one. */
function defaultCapabilities(merged: Plain, catalog: PluginCatalog): void {
  if (!Array.isArray(merged.profiles)) return;
  for (const profile of merged.profiles) {
    if (isPlainObject(profile) && profile.capabilities === undefined) profile.capabilities = [...catalog.capabilities];
  }
}

function defaultDriver(merged: Plain, catalog: PluginCatalog): void {
  merged.driver ??= {};
  if (isPlainObject(merged.driver) && merged.driver.type === undefined) merged.driver.type = catalog.defaultDriver;
}

/** `driver.type` must name an installed driver; each `driver.<name>` is validated against that driver's own schema. */
function validateDriverSection(section: BayConfig["driver"], catalog: PluginCatalog): BayConfig["driver"] {
  const installed = Object.keys(catalog.driverSettings);
  if (!installed.includes(section.type)) {
    throw new ConfigError("driver.type", `unknown driver "${preview(section.type)}"; built in: ${installed.join(", ")}`);
  }
  const validated: BayConfig["driver"] = { type: section.type };
  for (const name of new Set([section.type, ...Object.keys(section).filter((key) => key !== "type")])) {
    const schema = catalog.driverSettings[name];
    if (!schema) throw new ConfigError(`driver.${name}`, `no driver is named "${preview(name)}"; built in: ${installed.join(", ")}`);
    validated[name] = validate(schema, section[name] === undefined ? {} : section[name], `driver.${name}`);
  }
  return validated;
}

/** The chosen driver's settings, as its schema validated them. */
export function driverSettings(config: BayConfig): unknown {
  return config.driver[config.driver.type];
}

interface MemberSchema {
  const?: unknown;
  type?: string;
  minimum?: number;
  maximum?: number;
}

/** "Expected union value" says little; name the allowed literals, or the allowed kinds, instead. */
function describeExpectation(schema: { anyOf?: MemberSchema[] }, fallback: string): string {
  const members = schema.anyOf;
  if (!members || members.length === 0) return fallback;
  if (members.every((member) => member.const !== undefined)) {
    return `Expected one of ${members.map((member) => JSON.stringify(member.const)).join(", ")}`;
  }
  const kinds = members.map(describeKind);
  return kinds.every((kind) => kind !== null) ? `Expected ${kinds.join(" or ")}` : fallback;
}

function describeKind(member: MemberSchema): string | null {
  if (member.const !== undefined) return JSON.stringify(member.const);
  if (member.type === "null") return "null";
  if (member.type !== "integer" && member.type !== "number") return null;
  const range = member.minimum !== undefined && member.maximum !== undefined ? ` ${member.minimum}..${member.maximum}` : "";
  return `${member.type === "integer" ? "an integer" : "a number"}${range}`;
}

function addBuiltinProfile(config: BayConfig, defaultImage: string | undefined, catalog: PluginCatalog): void {
  if (config.profiles.some((p) => p.id === DEFAULT_PROFILE_ID)) return;
  const builtin: ProfileConfig = {
    id: DEFAULT_PROFILE_ID,
    image: defaultImage || DEFAULT_IMAGE,
    description: "Python with a persistent kernel, a shell and file operations on /workspace",
    resources: { cpus: 1, memory: "1g", pids_limit: 512 },
    capabilities: [...catalog.capabilities],
    idle_timeout: 1800,
    env: {},
    runtime: "runc",
    network: "internet",
    warm_pool_size: 0,
    security: { read_only_rootfs: true, no_new_privileges: true, extra_capabilities: [], tmp_size: "256m" },
  };
  config.profiles.unshift(builtin);
}

function checkCrossFieldRules(config: BayConfig, catalog: PluginCatalog): void {
  const seen = new Set<string>();
  config.profiles.forEach((profile, index) => {
    if (seen.has(profile.id)) throw new ConfigError(`profiles.${index}.id`, `duplicate profile id "${profile.id}"`);
    seen.add(profile.id);
    profile.capabilities.forEach((name, position) => {
      if (!catalog.capabilities.includes(name)) {
        throw new ConfigError(
          `profiles.${index}.capabilities.${position}`,
          `unknown capability "${name}"; built in: ${catalog.capabilities.join(", ")}`,
        );
      }
    });
    checkAllowList(profile.network, `profiles.${index}.network`);
    for (const name of Object.keys(profile.env)) {
      if (AGENT_INTERNAL_ENV.includes(name)) throw new ConfigError(`profiles.${index}.env.${name}`, `${name} is Bay's own variable for the agent; a profile cannot set it`);
    }
  });
  config.security.api_keys.forEach((key, index) => {
    if (Boolean(key.key) === Boolean(key.key_hash)) {
      throw new ConfigError(`security.api_keys.${index}`, "give exactly one of key or key_hash");
    }
    if (key.owner === ANONYMOUS_OWNER) {
      throw new ConfigError(
        `security.api_keys.${index}.owner`,
        `owner "${ANONYMOUS_OWNER}" is reserved for callers without a key (security.allow_anonymous); give this key another owner`,
      );
    }
  });
}

export function expandPath(path: string, cwd: string): string {
  const home = path === "~" || path.startsWith("~/") ? homedir() + path.slice(1) : path;
  return isAbsolute(home) ? home : resolve(cwd, home);
}

function isPlainObject(value: unknown): value is Plain {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function setPath(target: Plain, path: string[], value: unknown): void {
  let node = target;
  for (const segment of path.slice(0, -1)) {
    if (!isPlainObject(node[segment])) node[segment] = {};
    node = node[segment] as Plain;
  }
  node[path[path.length - 1]!] = value;
}

export function deepMerge(base: Plain, override: Plain): Plain {
  const result: Plain = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (value === undefined) continue;
    const current = result[key];
    result[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
  }
  return result;
}

/** Each allow-list entry must be one the firewall can express; the message says why not. */
function checkAllowList(network: ProfileConfig["network"], key: string): void {
  if (typeof network !== "object") return;
  network.allow.forEach((entry, position) => {
    const parsed = parseAllowEntry(entry);
    if (typeof parsed === "string") throw new ConfigError(`${key}.allow.${position}`, `"${preview(entry)}": ${parsed}`);
  });
}
