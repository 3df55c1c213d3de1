import { posix } from "node:path";
import { BayError, preview } from "./errors.ts";

/** Linux's limits: longer names or paths could never exist, so they are refused up front. */
const MAX_NAME_BYTES = 255;
const MAX_PATH_BYTES = 4095;

/**
 * The lexical half of path safety (api.md §7), applied by Bay before a call
 * reaches the agent and again by the agent, which then also resolves
 * symlinks. Paths are relative to /workspace; the result is normalised, "."
 * for the workspace itself.
 */
export function normalizeWorkspacePath(path: string, field = "path"): string {
  if (typeof path !== "string" || path.length === 0) throw invalidPath(path, field, "is empty");
  if (path.includes("\0")) throw invalidPath(path, field, "contains a NUL byte");
  if (posix.isAbsolute(path)) throw invalidPath(path, field, "is absolute; paths are relative to /workspace");
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) throw invalidPath(path, field, `is longer than ${MAX_PATH_BYTES} bytes`);
  if (path.split("/").some((name) => Buffer.byteLength(name) > MAX_NAME_BYTES)) {
    throw invalidPath(path, field, `has a name longer than ${MAX_NAME_BYTES} bytes`);
  }
  const normalized = posix.normalize(path).replace(/\/+$/, "") || ".";
  if (normalized === ".." || normalized.startsWith("../")) throw invalidPath(path, field, "leaves /workspace");
  return normalized;
}

export function invalidPath(path: string, field: string, reason: string): BayError {
  return new BayError("invalid_path", `${field} ${JSON.stringify(preview(path))} ${reason}`, { field, path: preview(path), reason });
}
