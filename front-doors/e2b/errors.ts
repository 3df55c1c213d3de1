import { BayError } from "../../src/kit/front-door.ts";

/**
 * E2B's control API answers errors as {code: <HTTP status>, message}; its
 * SDKs look at the body's `code` (404: not found, 409: already paused), not
 * at the status, so both always agree.
 */
export function controlErrorResponse(error: BayError): Response {
  return Response.json({ code: error.status, message: error.message }, { status: error.status });
}

export function unauthorized(): BayError {
  return new BayError("unauthorized", "missing or invalid API key (send X-API-KEY: <a Bay API key>)");
}
