import { BayError } from "../shared/errors.ts";

/**
 * Routes whose handler reads the request body itself, as a stream (uploads):
 * the framework neither buffers nor parses it first.
 */
const STREAMED_BODY_ROUTES = new Set<string>();

/** The body of a streamed route as the handler gets it: the bytes, still counted against the body limit. */
export class StreamedBody {
  constructor(readonly stream: ReadableStream<Uint8Array>) {}
}

/** Declares `route` (as written in the router, e.g. /v1/sandboxes/:id/filesystem/upload) streamed; returns it. */
export function streamedBodyRoute(route: string): string {
  STREAMED_BODY_ROUTES.add(route);
  return route;
}

export function hasStreamedBody(route: string): boolean {
  return STREAMED_BODY_ROUTES.has(route);
}

export function streamOf(body: unknown): ReadableStream<Uint8Array> {
  if (!(body instanceof StreamedBody)) throw new BayError("internal_error", "the route was not declared with streamedBodyRoute", {});
  return body.stream;
}
