import { BayError } from "../shared/errors.ts";

function tooLarge(size: number | null, limitBytes: number): BayError {
  return new BayError(
    "payload_too_large",
    size === null ? `request body is over the limit of ${limitBytes} bytes` : `request body of ${size} bytes is over the limit of ${limitBytes} bytes`,
    { limit_bytes: limitBytes, ...(size === null ? {} : { size_bytes: size }) },
  );
}

/** Refuses a body whose declared size is over the limit before any of it is read. */
export function checkBodySize(request: Request, limitBytes: number): void {
  const declared = request.headers.get("content-length");
  if (declared === null) return;
  const size = Number(declared);
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new BayError("validation_error", "Content-Length is not a valid size", { field: "Content-Length" });
  }
  if (size > limitBytes) throw tooLarge(size, limitBytes);
}

/**
 * Parses a body sent without Content-Length (chunked), counting bytes as
 * they arrive and stopping at the limit. Returns undefined for bodies with a
 * declared length, which the framework parses after checkBodySize.
 */
export async function parseUndeclaredBody(request: Request, limitBytes: number): Promise<unknown> {
  if (request.headers.get("content-length") !== null || !request.body) return undefined;
  // The full header: a multipart body needs its boundary parameter.
  const contentType = request.headers.get("content-type") ?? "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body) {
    size += chunk.byteLength;
    if (size > limitBytes) throw tooLarge(null, limitBytes);
    chunks.push(chunk);
  }
  const bytes = Buffer.concat(chunks);
  if (contentType.includes("multipart/form-data") || contentType.includes("application/x-www-form-urlencoded")) {
    const form = await new Response(bytes, { headers: { "content-type": contentType } }).formData();
    return Object.fromEntries(form.entries());
  }
  const text = bytes.toString("utf8");
  if (contentType.includes("json")) {
    try {
      return text ? JSON.parse(text) : undefined;
    } catch {
      throw new BayError("validation_error", "request body could not be parsed (expected JSON)", { location: "body" });
    }
  }
  return text;
}

/**
 * The body as a stream for routes that hand it on as it arrives (uploads):
 * it fails with payload_too_large once more than `limitBytes` have come, and
 * when the client sends nothing for `stallTimeoutMs` while Bay waits for it.
 * (Bay's own pauses, e.g. while a session starts, are not the client's.)
 */
export function limitedBody(request: Request, limitBytes: number, stallTimeoutMs: number): ReadableStream<Uint8Array> {
  const reader = request.body?.getReader();
  let size = 0;
  const stalled = () =>
    new BayError("validation_error", `the request body stalled: nothing arrived for ${stallTimeoutMs / 1000} s`, { location: "body" });
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!reader) return controller.close();
        let timer: Timer | undefined;
        const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(stalled()), stallTimeoutMs)));
        try {
          const { done, value } = await Promise.race([reader.read(), deadline]);
          if (done) return controller.close();
          size += value.byteLength;
          if (size > limitBytes) throw tooLarge(null, limitBytes);
          controller.enqueue(value);
        } catch (error) {
          await reader.cancel().catch(() => undefined);
          controller.error(error);
        } finally {
          clearTimeout(timer);
        }
      },
      async cancel(reason) {
        await reader?.cancel(reason).catch(() => undefined);
      },
    },
    { highWaterMark: 0 },
  );
}
