import { ValidationError } from "../core/errors.ts";

/**
 * Every JSON body of the API is an object. Elysia would quietly turn an array
 * or a bare number into {} for an object schema, so anything else is refused
 * here, before validation.
 */
export function requireObjectBody(body: unknown): void {
  if (body === undefined || body instanceof FormData) return;
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new ValidationError("request body must be a JSON object", { location: "body", field: "(root)" });
  }
}
