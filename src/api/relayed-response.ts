import { EVENT_STREAM_HEADERS } from "../shared/sse.ts";

/**
 * An agent's streamed answer (a download, an event stream) as Bay sends it
 * on: its body untouched, the route's own headers (the request id), and the
 * named headers of the agent's answer. With the route's headers already in,
 * Elysia passes the body's bytes through as they are.
 */
export function relayedResponse(upstream: Response, routeHeaders: Record<string, unknown>, names: readonly string[]): Response {
  const headers = new Headers(routeHeaders as Record<string, string>);
  for (const name of names) {
    const value = upstream.headers.get(name);
    if (value) headers.set(name, value);
  }
  return new Response(upstream.body, { status: 200, headers });
}

/** An agent's event stream relayed as it is, with the headers that keep proxies from buffering it. */
export function relayedEventStream(upstream: Response, routeHeaders: Record<string, unknown>): Response {
  return relayedResponse(upstream, routeHeaders, Object.keys(EVENT_STREAM_HEADERS));
}
