/**
 * Server-Sent Events as Bay uses them: every event's data is one line of
 * JSON, so the encoding never has to split data across lines.
 */
export interface StreamEvent {
  event: string;
  data: unknown;
}

export const EVENT_STREAM_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache, no-transform",
  // Reverse proxies must not buffer a live stream.
  "x-accel-buffering": "no",
} as const;

/** Sent while nothing else is, so that proxies and clients do not time out a quiet stream. */
export const HEARTBEAT = ": keep-alive\n\n";
export const HEARTBEAT_INTERVAL_MS = 15_000;

export function encodeEvent(event: string, data: unknown): string {
  if (!/^[A-Za-z0-9_-]+$/.test(event)) throw new Error(`invalid event name ${JSON.stringify(event)}`);
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Parses an event stream; comments (heartbeats) are skipped, events without data too. */
export async function* parseEventStream(body: ReadableStream<Uint8Array>): AsyncGenerator<StreamEvent> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of body) {
    buffered += decoder.decode(chunk, { stream: true }).replaceAll("\r\n", "\n");
    let boundary: number;
    while ((boundary = buffered.indexOf("\n\n")) >= 0) {
      const block = buffered.slice(0, boundary);
      buffered = buffered.slice(boundary + 2);
      const parsed = parseBlock(block);
      if (parsed) yield parsed;
    }
  }
  const last = parseBlock(buffered + decoder.decode());
  if (last) yield last;
}

function parseBlock(block: string): StreamEvent | null {
  let event = "message";
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  if (data.length === 0) return null;
  const text = data.join("\n");
  try {
    return { event, data: JSON.parse(text) };
  } catch {
    return { event, data: text };
  }
}

/**
 * A streaming response: `produce` sends events until it resolves; heartbeats
 * fill the silences. If the client goes away, `produce` sees its signal abort.
 */
export function eventStreamResponse(
  produce: (send: (event: string, data: unknown) => void, signal: AbortSignal) => Promise<void>,
  headers: Record<string, string> = {},
): Response {
  const encoder = new TextEncoder();
  const aborted = new AbortController();
  let heartbeat: Timer | undefined;
  let open = true;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const write = (text: string) => {
        if (!open) return;
        try {
          controller.enqueue(encoder.encode(text));
        } catch {
          open = false;
        }
      };
      heartbeat = setInterval(() => write(HEARTBEAT), HEARTBEAT_INTERVAL_MS);
      void produce((event, data) => write(encodeEvent(event, data)), aborted.signal)
        .catch((error: unknown) => write(encodeEvent("error", { message: (error as Error).message ?? String(error) })))
        .finally(() => {
          clearInterval(heartbeat);
          if (!open) return;
          open = false;
          try {
            controller.close();
          } catch {
            // The reader went away at the same moment.
          }
        });
    },
    cancel() {
      open = false;
      clearInterval(heartbeat);
      aborted.abort();
    },
  });
  return new Response(stream, { status: 200, headers: { ...EVENT_STREAM_HEADERS, ...headers } });
}
