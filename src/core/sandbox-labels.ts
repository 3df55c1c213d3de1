import { AGENT_INTERNAL_ENV } from "../shared/agent-protocol.ts";
import { checkEnvironmentNames } from "../shared/environment.ts";
import { ValidationError } from "../shared/errors.ts";

/**
 * What a caller attaches to a sandbox at create: `metadata` (labels it can
 * filter lists on, shown in the view) and `env` (variables every process of
 * the sandbox gets, never shown). Both are JSON objects of strings in the
 * sandboxes table.
 */
export type StringMap = Record<string, string>;

export const MAX_METADATA_ENTRIES = 64;
export const MAX_ENV_ENTRIES = 256;

export function parseStringMap(json: string): StringMap {
  try {
    const value = JSON.parse(json) as unknown;
    return value && typeof value === "object" && !Array.isArray(value) ? (value as StringMap) : {};
  } catch {
    return {};
  }
}

/** Refuses what no process could use, and Bay's own variables, by name. */
export function checkSandboxEnv(env: StringMap | undefined): StringMap {
  const entries = Object.entries(env ?? {});
  if (entries.length > MAX_ENV_ENTRIES) throw new ValidationError(`env holds more than ${MAX_ENV_ENTRIES} variables`, { field: "env" });
  checkEnvironmentNames(env);
  for (const [name] of entries) {
    if (AGENT_INTERNAL_ENV.includes(name)) throw new ValidationError(`env name ${name} is Bay's own`, { field: `env.${name}` });
  }
  return Object.fromEntries(entries);
}

export function checkMetadata(metadata: StringMap | undefined): StringMap {
  const entries = Object.entries(metadata ?? {});
  if (entries.length > MAX_METADATA_ENTRIES) throw new ValidationError(`metadata holds more than ${MAX_METADATA_ENTRIES} entries`, { field: "metadata" });
  return Object.fromEntries(entries);
}

/**
 * A list filter in the form E2B's API takes: `key=value` pairs joined by `&`,
 * URL-encoded (so `?metadata=team%3Dml%26env%3Dprod`). A sandbox matches when
 * it has every pair.
 */
export function parseMetadataFilter(text: string | undefined): StringMap {
  if (!text) return {};
  const filter: StringMap = {};
  for (const [key, value] of new URLSearchParams(text)) {
    if (!key) throw new ValidationError("metadata filter entries are key=value pairs joined by &", { field: "metadata" });
    filter[key] = value;
  }
  return filter;
}

export function matchesMetadata(metadata: StringMap, filter: StringMap): boolean {
  return Object.entries(filter).every(([key, value]) => metadata[key] === value);
}
