import { consola } from "consola";
import { BayError, preview, type ErrorCode } from "../shared/errors.ts";
import { currentRequestId } from "../core/request-context.ts";
import { fieldName } from "../shared/schema-path.ts";

export interface ErrorEnvelope {
  error: { code: ErrorCode; message: string; request_id: string; details: Record<string, unknown> };
}

interface SchemaError {
  path?: string;
  message?: string;
  value?: unknown;
  schema?: Record<string, unknown> & { anyOf?: Record<string, unknown>[] };
}

interface FrameworkValidationError {
  type?: string;
  all?: SchemaError[];
}

/**
 * The one place where anything thrown while serving a request becomes the
 * contract's error envelope (api.md §2). `frameworkCode` is Elysia's own
 * classification of errors it raised itself.
 */
export function toBayError(frameworkCode: string | number, error: unknown): BayError {
  if (error instanceof BayError) return error;
  switch (frameworkCode) {
    case "VALIDATION":
      // A response that fails its own schema is Bay's bug, not the caller's mistake.
      if ((error as FrameworkValidationError).type === "response") return new BayError("internal_error", "internal error", {});
      return validationError(error as FrameworkValidationError);
    case "PARSE":
      // A parser of ours (body-limit.ts) may have refused the body with a precise error.
      if ((error as { cause?: unknown }).cause instanceof BayError) return (error as { cause: BayError }).cause;
      return new BayError("validation_error", "request body could not be parsed (expected JSON)", { location: "body" });
    case "NOT_FOUND":
      return new BayError("not_found", "no such route", {});
    case 413:
      return new BayError("payload_too_large", "request body is too large", {});
  }
  if (isPayloadTooLarge(error)) return new BayError("payload_too_large", "request body is too large", {});
  return new BayError("internal_error", "internal error", {});
}

export function errorEnvelope(error: BayError, requestId: string): ErrorEnvelope {
  return { error: { code: error.code, message: error.message, request_id: requestId, details: error.details } };
}

/** Retry-After for errors that say when to come back (api.md §2). */
export function errorHeaders(error: BayError): Record<string, string> {
  const retryAfterMs = error.details.retry_after_ms;
  return typeof retryAfterMs === "number" ? { "retry-after": String(Math.max(1, Math.ceil(retryAfterMs / 1000))) } : {};
}

/**
 * Every 5xx answer leaves a line carrying its request id, so that a client's
 * report can be found: bugs with their stack (the caller only sees
 * internal_error), other server-side failures with what was answered. The id
 * comes from the request context when logging has it, else from `requestId`.
 */
export function logUnexpected(error: unknown, bayError: BayError, route: string, requestId?: string): void {
  if (bayError.status < 500) return;
  const tag = requestId && currentRequestId() !== requestId ? `[${requestId}] ` : "";
  if (bayError.code === "internal_error") consola.error(`${tag}${route} failed unexpectedly`, error);
  else consola.warn(`${tag}${route} answered ${bayError.status} ${bayError.code}: ${bayError.message}`);
}

function validationError(error: FrameworkValidationError): BayError {
  const location = error.type ?? "request";
  const problems = (error.all ?? []).map((problem) => ({
    field: fieldName(problem.path),
    message: describeProblem(problem),
  }));
  const first = problems[0];
  const message = first ? `${location} field "${first.field}": ${first.message}` : `${location} is not valid`;
  return new BayError("validation_error", message, {
    location,
    field: first?.field ?? null,
    errors: problems,
  });
}

/** Elysia turns numeric schemas into a union with a numeric string; describe the numeric side. */
function describeProblem(problem: SchemaError): string {
  const schema = problem.schema ?? {};
  const shown = schema.anyOf?.find((s) => s.type !== "string") ?? schema;
  if (problem.value === undefined) return "is required";
  const constraints: string[] = [];
  if (typeof shown.type === "string") constraints.push(`expected ${shown.type}`);
  if (shown.minimum !== undefined) constraints.push(`>= ${shown.minimum}`);
  if (shown.maximum !== undefined) constraints.push(`<= ${shown.maximum}`);
  if (shown.minLength !== undefined) constraints.push(`at least ${shown.minLength} characters`);
  if (shown.pattern !== undefined) constraints.push(`matching ${shown.pattern}`);
  if (Array.isArray(shown.enum)) constraints.push(`one of ${shown.enum.join(", ")}`);
  const literals = (shown.anyOf as { const?: unknown }[] | undefined)?.map((s) => s.const).filter((c) => c !== undefined);
  if (literals?.length) constraints.push(`one of ${literals.join(", ")}`);
  const got = ` (got ${preview(problem.value, 60)})`;
  return constraints.length ? `${constraints.join(", ")}${got}` : `${problem.message ?? "is not valid"}${got}`;
}

function isPayloadTooLarge(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === "ERR_BODY_TOO_LARGE";
}
