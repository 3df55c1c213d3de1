import { ValidationError } from "../shared/errors.ts";

const MAX_WAIT_SECONDS = 3600;

/**
 * `Prefer: wait=N` (RFC 7240): the caller waits at most N seconds for the
 * sandbox's compute to start, and otherwise gets 503 session_not_ready with
 * Retry-After. Without it, a call waits until the agent is ready.
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
  // Longer than any start may take means "wait"; it also keeps the timer within its range.
  return Math.round(Math.min(seconds, MAX_WAIT_SECONDS) * 1000);
}

/** `Prefer: respond-async` (RFC 7240): the caller wants the answer before slow work (a teardown) is done. */
export function prefersRespondAsync(request: Request): boolean {
  return /(?:^|[\s,;])respond-async(?:$|[\s,;])/i.test(request.headers.get("prefer") ?? "");
}
