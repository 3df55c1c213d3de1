import { BayError, RuntimeTimeoutError, ShipError } from "./errors.ts";
import type { ShipErrorBody } from "../ship/protocol.ts";

/** Agent error codes that mean the caller's request was wrong, so they pass through unchanged. */
const CALLER_ERROR_CODES = new Set(["validation_error", "invalid_path", "file_not_found"]);

export interface ShipCallOptions {
  /** Abort and answer 504 `timeout` after this long. */
  timeoutMs: number;
}

/** Talks to one session's agent over HTTP; keep-alive connections are reused by fetch. */
export class ShipClient {
  constructor(
    readonly endpoint: string,
    private readonly token: string,
  ) {}

  async health(timeoutMs: number): Promise<boolean> {
    try {
      const response = await fetch(`${this.endpoint}/health`, { signal: AbortSignal.timeout(timeoutMs) });
      await response.arrayBuffer();
      return response.ok;
    } catch {
      return false;
    }
  }

  get<T>(path: string, options: ShipCallOptions): Promise<T> {
    return this.call<T>("GET", path, undefined, options);
  }

  post<T>(path: string, body: unknown, options: ShipCallOptions): Promise<T> {
    return this.call<T>("POST", path, body, options);
  }

  private async call<T>(method: string, path: string, body: unknown, options: ShipCallOptions): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.endpoint}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (error) {
      if ((error as Error).name === "TimeoutError") {
        throw new RuntimeTimeoutError(`the runtime did not answer ${method} ${path} within ${options.timeoutMs} ms`, {
          path,
        });
      }
      throw new ShipError(`the runtime dropped the connection on ${method} ${path}`, { path, connection: true }, { cause: error });
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      throw new ShipError(`the runtime answered ${method} ${path} with invalid JSON (HTTP ${response.status})`, { path });
    }
    if (response.ok) return parsed as T;
    const error = (parsed as ShipErrorBody | null)?.error;
    if (error && CALLER_ERROR_CODES.has(error.code)) {
      throw new BayError(error.code as "validation_error", error.message, error.details ?? {});
    }
    throw new ShipError(`the runtime answered ${method} ${path} with HTTP ${response.status}: ${error?.message ?? text.slice(0, 200)}`, {
      path,
      runtime_status: response.status,
      runtime_code: error?.code ?? null,
    });
  }
}
