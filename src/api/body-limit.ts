import { BayError } from "../core/errors.ts";

/** Refuses a body whose declared size is over the limit before any of it is read. */
export function checkBodySize(request: Request, limitBytes: number): void {
  const declared = request.headers.get("content-length");
  if (declared === null) return;
  const size = Number(declared);
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new BayError("validation_error", "Content-Length is not a valid size", { field: "Content-Length" });
  }
  if (size > limitBytes) {
    throw new BayError("payload_too_large", `request body of ${size} bytes is over the limit of ${limitBytes} bytes`, {
      limit_bytes: limitBytes,
      size_bytes: size,
    });
  }
}
