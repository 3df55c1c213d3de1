import { BayError } from "../../src/kit/front-door.ts";

/**
 * The Connect protocol with the JSON codec, as E2B's in-sandbox daemon
 * (envd) speaks it: unary calls are plain JSON; a server-streaming call's
 * request and answer are envelopes (a flags byte, a big-endian length, the
 * JSON), and the answer ends with an end-of-stream envelope (flags 0x02)
 * that carries the error, if any.
 */
export const CONNECT_STREAM_TYPE = "application/connect+json";

const END_STREAM_FLAG = 0x02;
const MAX_REQUEST_BYTES = 8 * 1024 * 1024;

/** Connect's error codes and their HTTP statuses, from Bay's contract codes. */
const CONNECT_CODES: Record<string, [string, number]> = {
  validation_error: ["invalid_argument", 400],
  invalid_path: ["invalid_argument", 400],
  capability_not_supported: ["unimplemented", 501],
  unauthorized: ["unauthenticated", 401],
  forbidden: ["permission_denied", 403],
  not_found: ["not_found", 404],
  file_not_found: ["not_found", 404],
  conflict: ["failed_precondition", 400],
  sandbox_expired: ["not_found", 404],
  payload_too_large: ["resource_exhausted", 429],
  quota_exceeded: ["resource_exhausted", 429],
  ship_error: ["unavailable", 503],
  session_not_ready: ["unavailable", 503],
  driver_unavailable: ["unavailable", 503],
  timeout: ["deadline_exceeded", 408],
};

/** A Connect error of its own kind, for what Bay's codes do not say (already_exists). */
export class ConnectError extends Error {
  constructor(
    readonly connectCode: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

function connectErrorOf(error: unknown): { code: string; message: string; status: number } {
  if (error instanceof ConnectError) return { code: error.connectCode, message: error.message, status: error.status };
  if (error instanceof BayError) {
    const [code, status] = CONNECT_CODES[error.code] ?? ["internal", 500];
    return { code, message: error.message, status };
  }
  return { code: "internal", message: "internal error", status: 500 };
}

export function unaryAnswer(message: object): Response {
  return Response.json(message, { status: 200 });
}

export function unaryError(error: unknown): Response {
  const { code, message, status } = connectErrorOf(error);
  return Response.json({ code, message }, { status });
}

/** The one envelope a server-streaming call's request holds. */
export async function readRequestEnvelope(body: ReadableStream<Uint8Array> | null): Promise<Record<string, unknown>> {
  const bytes = await readAll(body);
  if (bytes.length < 5) throw new ConnectError("invalid_argument", "the request holds no Connect envelope");
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(1);
  if (bytes[0] !== 0 || 5 + length > bytes.length) throw new ConnectError("invalid_argument", "the request's Connect envelope is malformed");
  return parseMessage(bytes.subarray(5, 5 + length));
}

/** A unary call's JSON request. */
export async function readUnaryRequest(body: ReadableStream<Uint8Array> | null): Promise<Record<string, unknown>> {
  const bytes = await readAll(body);
  return bytes.length === 0 ? {} : parseMessage(bytes);
}

/**
 * A server-streaming answer: `produce` sends messages until it returns; an
 * error it throws (or the end) closes the stream with the end-of-stream
 * envelope. The producer sees `signal` abort when the client goes away.
 */
export function streamAnswer(produce: (send: (message: object) => void, signal: AbortSignal) => Promise<void>): Response {
  const encoder = new TextEncoder();
  const aborted = new AbortController();
  const envelope = (flags: number, message: object) => {
    const json = encoder.encode(JSON.stringify(message));
    const frame = new Uint8Array(5 + json.length);
    frame[0] = flags;
    new DataView(frame.buffer).setUint32(1, json.length);
    frame.set(json, 5);
    return frame;
  };
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      let ending: object = {};
      try {
        await produce((message) => controller.enqueue(envelope(0, message)), aborted.signal);
      } catch (error) {
        const { code, message } = connectErrorOf(error);
        ending = { error: { code, message } };
      }
      if (aborted.signal.aborted) return;
      controller.enqueue(envelope(END_STREAM_FLAG, ending));
      controller.close();
    },
    cancel() {
      aborted.abort();
    },
  });
  return new Response(body, { status: 200, headers: { "content-type": CONNECT_STREAM_TYPE } });
}

function parseMessage(bytes: Uint8Array): Record<string, unknown> {
  try {
    const value = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
    if (value && typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // Reported below.
  }
  throw new ConnectError("invalid_argument", "the request message is not a JSON object");
}

async function readAll(body: ReadableStream<Uint8Array> | null): Promise<Uint8Array> {
  if (!body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > MAX_REQUEST_BYTES) throw new ConnectError("resource_exhausted", `the request is larger than ${MAX_REQUEST_BYTES} bytes`, 429);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
