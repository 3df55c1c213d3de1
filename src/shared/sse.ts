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
/**
 * Well under the idle timeout of Bay's own HTTP server (server.request_header_timeout_seconds, 15 s by
 * default), whose coarse timer cut a stream relayed from the agent after 12-15 s of silence when the
 * heartbeat came every 15 s.
 */
export const HEARTBEAT_INTERVAL_MS = 5_000;

export function encodeEvent(event: string, data: unknown): string {
  if (!/^[A-Za-z0-9_-]+$/.test(event)) throw new Error(`invalid event name ${JSON.stringify(event)}`);
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * Larger events are refused: Bay relays a agent's stream, and an agent
 * that never ends a line must not make Bay buffer without end. (An agent caps
 * each output field, so its largest event, `done`, stays far below this.)
 */
export const MAX_EVENT_BYTES = 64 * 1024 * 1024;

/** An event stream sent a block longer than the reader accepts. */
export class OversizedEventError extends Error {
  constructor(readonly limitBytes: number) {
    super(`the event stream sent an event larger than ${limitBytes} bytes`);
  }
}

export interface ParseOptions {
  /** At most this much of one event is held; a longer one is OversizedEventError. */
  maxEventBytes?: number;
  /** Stops reading (and cancels the body) at once, even while waiting for the next bytes. */
  signal?: AbortSignal;
}

/**
 * Parses an event stream; comments (heartbeats) are skipped, events without
 * data too. Reads no further than its consumer asks for.
 */
export async function* parseEventStream(
  body: ReadableStream<Uint8Array>,
  { maxEventBytes = MAX_EVENT_BYTES, signal }: ParseOptions = {},
): AsyncGenerator<StreamEvent> {
  const decoder = new TextDecoder();
  // The incomplete block so far. Only each new piece is searched for the blank line that ends a block,
  // so that a long event costs its length once, not once per chunk.
  let buffered = "";
  let lastChar = "";
  // A CR at the end of a chunk may be the first half of a CRLF.
  let heldCr = false;
  const reader = body.getReader();
  const stop = () => void reader.cancel().catch(() => undefined);
  signal?.addEventListener("abort", stop, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      let text: string = (heldCr ? "\r" : "") + decoder.decode(value, { stream: true });
      heldCr = text.endsWith("\r");
      if (heldCr) text = text.slice(0, -1);
      text = text.replaceAll("\r\n", "\n");
      if (!text) continue;
      const ended = (lastChar + text).includes("\n\n");
      buffered += text;
      lastChar = text.at(-1)!;
      if (ended) {
        let boundary: number;
        while ((boundary = buffered.indexOf("\n\n")) >= 0) {
          const block = buffered.slice(0, boundary);
          buffered = buffered.slice(boundary + 2);
          const parsed = parseBlock(block);
          if (parsed) yield parsed;
        }
        lastChar = buffered.at(-1) ?? "";
      }
      if (buffered.length > maxEventBytes) throw new OversizedEventError(maxEventBytes);
    }
  } finally {
    signal?.removeEventListener("abort", stop);
    await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
  if (signal?.aborted) return;
  const last = parseBlock(buffered + (heldCr ? "\r" : "") + decoder.decode());
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

/** Bytes queued for a slow reader before a producer's `send` waits. */
const STREAM_QUEUE_BYTES = 256 * 1024;

/**
 * A streaming response: `produce` sends events until it resolves; heartbeats
 * fill the silences. `send` resolves once the reader has room again, so a
 * producer that awaits it (a relay) goes no faster than the reader. If the
 * client goes away, `produce` sees its signal abort.
 */
/** A client that asked for an event stream (Accept: text/event-stream) rather than one JSON answer. */
export function wantsEventStream(request: Request): boolean {
  return (request.headers.get("accept") ?? "").includes("text/event-stream");
}

export function eventStreamResponse(
  produce: (send: (event: string, data: unknown) => Promise<void>, signal: AbortSignal) => Promise<void>,
  headers: Record<string, string> = {},
): Response {
  const encoder = new TextEncoder();
  const aborted = new AbortController();
  let heartbeat: Timer | undefined;
  let open = true;
  let wakeProducer: (() => void) | undefined;
  const wake = () => {
    wakeProducer?.();
    wakeProducer = undefined;
  };
  const stream = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const write = (text: string) => {
          if (!open) return;
          try {
            controller.enqueue(encoder.encode(text));
          } catch {
            open = false;
          }
        };
        const send = async (event: string, data: unknown) => {
          write(encodeEvent(event, data));
          while (open && (controller.desiredSize ?? 1) <= 0) await new Promise<void>((resolve) => (wakeProducer = resolve));
        };
        heartbeat = setInterval(() => write(HEARTBEAT), HEARTBEAT_INTERVAL_MS);
        void produce(send, aborted.signal)
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
      pull: wake,
      cancel() {
        open = false;
        clearInterval(heartbeat);
        wake();
        aborted.abort();
      },
    },
    { highWaterMark: STREAM_QUEUE_BYTES, size: (chunk) => chunk?.byteLength ?? 0 },
  );
  return new Response(stream, { status: 200, headers: { ...EVENT_STREAM_HEADERS, ...headers } });
}
