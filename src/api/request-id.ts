import { randomUUID } from "node:crypto";

const REQUEST_IDS = new WeakMap<Request, string>();
/** Sent ids are echoed only when they are safe to put back into a header and a log line. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function assignRequestId(request: Request): string {
  const sent = request.headers.get("x-request-id");
  const id = sent && SAFE_REQUEST_ID.test(sent) ? sent : randomUUID();
  REQUEST_IDS.set(request, id);
  return id;
}

export function requestIdOf(request: Request): string {
  return REQUEST_IDS.get(request) ?? assignRequestId(request);
}
