import { BayError, DriverUnavailableError, EngineError } from "../../src/core/errors.ts";

interface DockerodeError {
  statusCode?: number;
  code?: string;
  json?: { message?: string } | null;
  reason?: string;
  message?: string;
}

/** Socket-level failures: nothing is listening, or we may not talk to it. */
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ENOENT",
  "EACCES",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ConnectionRefused",
  "FailedToOpenSocket",
]);

export function statusOf(error: unknown): number | undefined {
  return (error as DockerodeError | null)?.statusCode;
}

export function engineMessage(error: unknown): string {
  const e = error as DockerodeError;
  return e?.json?.message ?? e?.reason ?? e?.message ?? String(error);
}

function isConnectionFailure(error: unknown): boolean {
  const e = error as DockerodeError | null;
  return Boolean(e && e.statusCode === undefined && e.code && CONNECTION_CODES.has(e.code));
}

/** A dockerode failure as the contract's error: an unreachable engine is driver_unavailable, the rest EngineError. */
export function engineFailure(error: unknown, endpoint: string, action: string): BayError {
  if (error instanceof BayError) return error;
  if (isConnectionFailure(error)) return new DriverUnavailableError(endpoint, error);
  return new EngineError(action, engineMessage(error), statusOf(error) ?? null);
}
