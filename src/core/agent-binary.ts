import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { ConfigError } from "../shared/errors.ts";

/** True inside a `bun build --compile` executable, whose modules live in /$bunfs. */
export function isCompiledBinary(): boolean {
  return import.meta.path.includes("$bunfs") || import.meta.path.startsWith("B:/~BUN");
}

/**
 * The executable mounted into sandboxes as the agent: the configured one,
 * else the running binary; under `bun run`, the development build in dist/.
 */
export function resolveAgentBinary(configured: string | null): string {
  const candidate = configured ?? (isCompiledBinary() ? process.execPath : resolve(import.meta.dir, "../../dist/bay"));
  if (!existsSync(candidate)) {
    throw new ConfigError(
      "ship.binary_path",
      `the agent binary ${candidate} does not exist; build it with scripts/build.sh or set BAY_SHIP__BINARY_PATH`,
    );
  }
  return candidate;
}
