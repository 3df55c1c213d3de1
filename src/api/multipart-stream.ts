import { ValidationError } from "../shared/errors.ts";

/**
 * multipart/form-data read as it arrives (RFC 7578): each part's bytes are
 * handed on while they stream in, so an upload of any size passes through
 * Bay in bounded memory.
 */
export interface MultipartPart {
  name: string;
  filename: string | null;
  /** The part's bytes. The next part is read only once this one is consumed (or it is drained). */
  body: ReadableStream<Uint8Array>;
}

/** Headers of one part: a few short lines. */
const MAX_PART_HEADER_BYTES = 16 * 1024;
/** What may come before the first boundary. */
const MAX_PREAMBLE_BYTES = 16 * 1024;

const CRLF = Buffer.from("\r\n");
const HEADER_END = Buffer.from("\r\n\r\n");

function malformed(reason: string): ValidationError {
  return new ValidationError(`upload must be multipart/form-data with fields path and file: ${reason}`, { location: "body" });
}

/** The boundary of a multipart/form-data Content-Type. */
export function multipartBoundary(contentType: string | null): string {
  const [type, ...parameters] = (contentType ?? "").split(";");
  if (type?.trim().toLowerCase() !== "multipart/form-data") throw malformed(`Content-Type is ${JSON.stringify(contentType ?? "")}`);
  for (const parameter of parameters) {
    const [key, ...value] = parameter.split("=");
    if (key?.trim().toLowerCase() !== "boundary") continue;
    const boundary = value.join("=").trim().replace(/^"(.*)"$/, "$1");
    if (/^[\x20-\x7e]{1,70}$/.test(boundary)) return boundary;
  }
  throw malformed("Content-Type has no valid boundary");
}

/** Buffered reading from a byte stream: only what is not yet handed on is held. */
class ByteSource {
  private pending: Buffer;
  private ended = false;
  private readonly reader: { read(): Promise<{ done: boolean; value?: Uint8Array }>; cancel(reason?: unknown): Promise<void> };

  constructor(body: ReadableStream<Uint8Array>, start: Buffer) {
    this.reader = body.getReader();
    this.pending = start;
  }

  get buffered(): Buffer {
    return this.pending;
  }

  /** Reads one more chunk; false at the end of the stream. */
  async more(): Promise<boolean> {
    if (this.ended) return false;
    const { done, value } = await this.reader.read();
    if (done || !value) {
      this.ended = true;
      return false;
    }
    this.pending = this.pending.length === 0 ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : Buffer.concat([this.pending, value]);
    return true;
  }

  take(length: number): Buffer {
    const taken = this.pending.subarray(0, length);
    this.pending = this.pending.subarray(length);
    return taken;
  }

  /** Everything up to `marker` (which is consumed too), held whole: only for short stretches. */
  async takeUntil(marker: Buffer, maxBytes: number, what: string): Promise<Buffer> {
    for (;;) {
      const at = this.pending.indexOf(marker);
      if (at >= 0) {
        const taken = Buffer.from(this.take(at));
        this.take(marker.length);
        return taken;
      }
      if (this.pending.length > maxBytes) throw malformed(`${what} is longer than ${maxBytes} bytes`);
      if (!(await this.more())) throw malformed(`the body ends inside ${what}`);
    }
  }

  async takeExactly(length: number, what: string): Promise<Buffer> {
    while (this.pending.length < length) if (!(await this.more())) throw malformed(`the body ends inside ${what}`);
    return Buffer.from(this.take(length));
  }

  async cancel(reason?: unknown): Promise<void> {
    this.ended = true;
    await this.reader.cancel(reason).catch(() => undefined);
  }
}

function dispositionOf(headers: string): { name: string; filename: string | null } {
  for (const line of headers.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon < 0 || line.slice(0, colon).trim().toLowerCase() !== "content-disposition") continue;
    const value = line.slice(colon + 1);
    const name = /;\s*name="([^"]*)"/i.exec(value)?.[1] ?? /;\s*name=([^;\s]+)/i.exec(value)?.[1];
    const filename = /;\s*filename="([^"]*)"/i.exec(value)?.[1] ?? /;\s*filename=([^;\s]+)/i.exec(value)?.[1] ?? null;
    if (name !== undefined) return { name, filename };
  }
  throw malformed("a part has no Content-Disposition name");
}

/**
 * The parts of a multipart body, one at a time. Stopping early (return or
 * an error) cancels the rest of the body.
 */
export async function* multipartParts(body: ReadableStream<Uint8Array>, boundary: string): AsyncGenerator<MultipartPart> {
  // Every boundary, the first included, is read as CRLF "--" boundary.
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  const source = new ByteSource(body, Buffer.from(CRLF));
  try {
    await source.takeUntil(delimiter, MAX_PREAMBLE_BYTES, "the preamble");
    for (;;) {
      const after = await source.takeExactly(2, "a boundary");
      if (after.toString("latin1") === "--") return;
      if (!after.equals(CRLF)) throw malformed("a boundary is not followed by CRLF");
      const headers = (await source.takeUntil(HEADER_END, MAX_PART_HEADER_BYTES, "a part's headers")).toString("utf8");
      let partEnded = false;
      /** The next bytes of the current part; null once its closing delimiter is reached. */
      const nextBytes = async (): Promise<Buffer | null> => {
        for (;;) {
          if (partEnded) return null;
          const at = source.buffered.indexOf(delimiter);
          if (at >= 0) {
            const bytes = source.take(at);
            source.take(delimiter.length);
            partEnded = true;
            return bytes;
          }
          // The tail might be the start of the delimiter: keep it until more arrives.
          const safe = source.buffered.length - (delimiter.length - 1);
          if (safe > 0) return source.take(safe);
          if (!(await source.more())) throw malformed("the body ends inside a part");
        }
      };
      const part: MultipartPart = {
        ...dispositionOf(headers),
        body: new ReadableStream<Uint8Array>(
          {
            async pull(controller) {
              try {
                for (;;) {
                  const bytes = await nextBytes();
                  if (bytes === null) return controller.close();
                  if (bytes.length === 0) continue;
                  controller.enqueue(bytes);
                  return;
                }
              } catch (error) {
                controller.error(error);
              }
            },
          },
          { highWaterMark: 0 },
        ),
      };
      yield part;
      // Whatever the consumer left of this part is skipped.
      while ((await nextBytes()) !== null);
    }
  } finally {
    await source.cancel();
  }
}

/** A short text field, read whole (at most `maxBytes`). */
export async function partText(part: MultipartPart, maxBytes: number): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of part.body) {
    size += chunk.byteLength;
    if (size > maxBytes) throw new ValidationError(`field ${part.name} is longer than ${maxBytes} bytes`, { field: part.name });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}
