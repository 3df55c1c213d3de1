import { Value } from "@sinclair/typebox/value";
import type { TSchema, Static } from "@sinclair/typebox";
import type { ShipErrorBody } from "./protocol.ts";

export function jsonResponse(body: unknown, status = 200): Response {
  return Response.json(body, { status });
}

export function errorResponse(status: number, code: string, message: string, details: Record<string, unknown> = {}): Response {
  const body: ShipErrorBody = { error: { code, message, details } };
  return Response.json(body, { status });
}

export class AgentRequestError extends Error {
  constructor(readonly response: Response) {
    super("agent request rejected");
  }
}

/** Parses and checks a JSON body against the same TypeBox schema Bay validates with. */
export async function readBody<S extends TSchema>(request: Request, schema: S): Promise<Static<S>> {
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    throw new AgentRequestError(errorResponse(400, "validation_error", "body is not valid JSON"));
  }
  const value = Value.Default(schema, body);
  const first = Value.Errors(schema, value).First();
  if (first) {
    throw new AgentRequestError(
      errorResponse(400, "validation_error", `${first.path || "body"}: ${first.message}`, { field: first.path }),
    );
  }
  return value as Static<S>;
}
