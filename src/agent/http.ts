import { Value } from "@sinclair/typebox/value";
import type { TSchema, Static } from "@sinclair/typebox";
import { BayError } from "../shared/errors.ts";
import type { AgentErrorBody } from "../shared/agent-protocol.ts";
import { fieldName } from "../shared/schema-path.ts";

export function jsonResponse(body: unknown, status = 200): Response {
  return Response.json(body, { status });
}

export function errorResponse(status: number, code: string, message: string, details: Record<string, unknown> = {}): Response {
  const body: AgentErrorBody = { error: { code, message, details } };
  return Response.json(body, { status });
}

export function bayErrorResponse(error: BayError): Response {
  return errorResponse(error.status, error.code, error.message, error.details);
}

/** Checks a value against the same TypeBox schema Bay validates with; fills defaults. */
export function checkAgainst<S extends TSchema>(schema: S, input: unknown): Static<S> {
  const value = Value.Default(schema, input);
  const first = Value.Errors(schema, value).First();
  if (first) {
    const field = fieldName(first.path);
    throw new BayError("validation_error", `${field}: ${first.message}`, { field });
  }
  return value as Static<S>;
}

export async function readBody<S extends TSchema>(request: Request, schema: S): Promise<Static<S>> {
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    throw new BayError("validation_error", "body is not valid JSON", { location: "body" });
  }
  return checkAgainst(schema, body);
}
