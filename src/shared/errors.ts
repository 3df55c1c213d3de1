/**
 * The one error hierarchy of Bay. Every failure that reaches a client is a
 * BayError; `src/api/error-response.ts` turns it into the contract's envelope
 * (api.md §2). Code is matched on `code`, never on `message`.
 */
export type ErrorCode =
  | "validation_error"
  | "invalid_path"
  | "capability_not_supported"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "file_not_found"
  | "conflict"
  | "sandbox_expired"
  | "sandbox_ttl_infinite"
  | "payload_too_large"
  | "quota_exceeded"
  | "internal_error"
  | "ship_error"
  | "session_not_ready"
  | "driver_unavailable"
  | "timeout";

/**
 * Statuses as shipyard-neo's clients see them: a request that fails
 * validation is 422 (FastAPI's answer), while a bad path or a capability the
 * profile lacks stay 400 as in neo.
 */
export const STATUS_BY_CODE: Record<ErrorCode, number> = {
  validation_error: 422,
  invalid_path: 400,
  capability_not_supported: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  file_not_found: 404,
  conflict: 409,
  sandbox_expired: 409,
  sandbox_ttl_infinite: 409,
  payload_too_large: 413,
  quota_exceeded: 429,
  internal_error: 500,
  ship_error: 502,
  session_not_ready: 503,
  driver_unavailable: 503,
  timeout: 504,
};

export type ErrorDetails = Record<string, unknown>;

export class BayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "BayError";
    this.code = code;
    this.status = STATUS_BY_CODE[code];
    this.details = details;
  }
}

/** Client input as error messages and details may repeat it: short, so a huge value is not echoed back. */
export function preview(value: unknown, maxLength = 80): string {
  const text = typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
  return text.length > maxLength ? `${text.slice(0, maxLength)}…` : text;
}

export class ValidationError extends BayError {
  constructor(message: string, details: ErrorDetails = {}) {
    super("validation_error", message, details);
  }
}

export class NotFoundError extends BayError {
  constructor(kind: string, id: string) {
    super("not_found", `${kind} ${preview(id)} not found`, { [`${kind}_id`]: preview(id) });
  }
}

export class ConflictError extends BayError {
  constructor(message: string, details: ErrorDetails = {}) {
    super("conflict", message, details);
  }
}

export class SandboxExpiredError extends BayError {
  constructor(sandboxId: string, expiredAt: string) {
    super("sandbox_expired", `sandbox ${sandboxId} expired at ${expiredAt}`, { sandbox_id: sandboxId, expires_at: expiredAt });
  }
}

/** An owner reached one of its limits (max sandboxes, max running sessions). */
export class QuotaExceededError extends BayError {
  constructor(quota: string, limit: number, current: number) {
    super("quota_exceeded", `${quota} quota reached: ${current} of ${limit}`, { quota, limit, current });
  }
}

/** The agent is still starting and the caller chose not to wait for it (Prefer: wait=N). */
export class SessionNotReadyError extends BayError {
  constructor(sandboxId: string, retryAfterMs: number) {
    super("session_not_ready", `sandbox ${sandboxId} is still starting; retry in ${Math.ceil(retryAfterMs / 1000)} s`, {
      sandbox_id: sandboxId,
      retry_after_ms: retryAfterMs,
    });
  }
}

export class AgentError extends BayError {
  constructor(message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super("ship_error", message, details, options);
  }
}

export class AgentTimeoutError extends BayError {
  constructor(message: string, details: ErrorDetails = {}) {
    super("timeout", message, details);
  }
}

/** Configuration problems are fatal at start-up, not HTTP errors. */
export class ConfigError extends Error {
  readonly key: string;
  constructor(key: string, message: string) {
    super(`invalid configuration at "${key}": ${message}`);
    this.name = "ConfigError";
    this.key = key;
  }
}
