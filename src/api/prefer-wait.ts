import { ValidationError } from "../core/errors.ts";

/**
 * `Prefer: wait=N` (RFC 7240): the caller waits at most N seconds for the
 * sandbox's compute to start, and otherwise gets 503 session_not_ready with
 * Retry-After. Without it, a call waits until the runtime is ready.
 */
export function maxStartWaitMs(request: Request): number | undefined {
  const prefer = request.headers.get("prefer");
  if (!prefer) return undefined;
  const match = /(?:^|[\s,;])wait\s*=\s*([^\s,;]*)/i.exec(prefer);
  if (!match) return undefined;
  const seconds = Number(match[1]);
  if (!/^\d+(\.\d+)?$/.test(match[1] ?? "") || !Number.isFinite(seconds)) {
    throw new ValidationError(`Prefer: wait must be a number of seconds, got ${JSON.stringify(match[1])}`, { field: "Prefer" });
  }
  return Math.round(seconds * 1000);
}
