import { ValidationError } from "../shared/errors.ts";
import { StreamedBody } from "./streamed-body.ts";

/** Deeper JSON is refused before validation: no request of this API nests anywhere near it. */
export const MAX_BODY_DEPTH = 64;

/**
 * Every JSON body of the API is an object, and not deeper than
 * MAX_BODY_DEPTH. (Elysia would quietly turn an array or a bare number into
 * {} for an object schema, and its validation of a very deep value overflows
 * the stack.) Walked without recursion, so a hostile body cannot do the same
 * here.
 */
export function requireObjectBody(body: unknown): void {
  if (body === undefined || body instanceof StreamedBody || body instanceof FormData) return;
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new ValidationError("request body must be a JSON object", { location: "body", field: "(root)" });
  }
  const pending: [unknown, number][] = [[body, 1]];
  while (pending.length > 0) {
    const [value, depth] = pending.pop()!;
    if (depth > MAX_BODY_DEPTH) {
      throw new ValidationError(`request body nests deeper than ${MAX_BODY_DEPTH} levels`, { location: "body" });
    }
    if (value === null || typeof value !== "object" || value instanceof Blob) continue;
    for (const child of Object.values(value)) {
      if (child !== null && typeof child === "object") pending.push([child, depth + 1]);
    }
  }
}
