import { closeSync, constants, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { consola } from "consola";
import { PROFILE_ENV_FILE } from "../shared/agent-protocol.ts";

const HEADER = "# The sandbox profile's environment, written by Bay at every start; source it where a process lacks it.\n";

/** One POSIX shell word: single-quoted, each single quote closed, escaped and reopened. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** The file's text: `export NAME='value'` per variable, in the profile's order. */
export function profileEnvScript(names: readonly string[], env: Record<string, string | undefined>): string {
  return HEADER + names.filter((name) => env[name] !== undefined).map((name) => `export ${name}=${shellQuote(env[name]!)}\n`).join("");
}

/**
 * Writes the profile's environment to /workspace/.bay_env.sh (shipyard-neo
 * reads it from login shells and later processes). Written as the sandbox
 * user, never through a symlink, owner-only: it may hold the profile's
 * secrets. A failure is logged, not fatal: the variables reach processes
 * started by the agent anyway.
 */
export function writeProfileEnvFile(workspace: string, names: readonly string[], env: Record<string, string | undefined>): void {
  if (names.length === 0) return;
  const path = join(workspace, PROFILE_ENV_FILE);
  try {
    const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600);
    try {
      writeSync(fd, profileEnvScript(names, env));
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    consola.warn(`agent: could not write ${path}: ${(error as Error).message}`);
  }
}
