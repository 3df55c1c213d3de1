import { BayError, DriverUnavailableError } from "../../src/core/errors.ts";

interface EngineError {
  statusCode?: number;
  code?: string;
  json?: { message?: string } | null;
  reason?: string;
  message?: string;
}

const CONNECTION_CODES = new Set(["ECONNREFUSED", "ENOENT", "EACCES", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ConnectionRefused", "FailedToOpenSocket"]);

export function statusOf(error: unknown): number | undefined {
  return (error as EngineError | null)?.statusCode;
}

export function engineMessage(error: unknown): string {
  const e = error as EngineError;
  return e?.json?.message ?? e?.reason ?? e?.message ?? String(error);
}

export function isConnectionFailure(error: unknown): boolean {
  const e = error as EngineError | null;
  return Boolean(e && e.statusCode === undefined && e.code && CONNECTION_CODES.has(e.code));
}

/** Turns a dockerode failure into the contract's error: unreachable engine → driver_unavailable. */
export function toBayError(error: unknown, endpoint: string, action: string): BayError {
  if (error instanceof BayError) return error;
  if (isConnectionFailure(error)) return new DriverUnavailableError(endpoint, error);
  return new BayError("ship_error", `container engine failed to ${action}: ${engineMessage(error)}`, {
    engine_status: statusOf(error) ?? null,
  });
}
