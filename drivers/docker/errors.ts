import { BayError } from "../../src/kit/driver.ts";

/** One engine call with the driver's deadline, its failure mapped to the contract (DockerDriver.engine). */
export type EngineCall = <T>(action: string, call: () => Promise<T>) => Promise<T>;

/** The engine cannot be reached at all: the socket is closed, absent or not ours to use. */
export class DriverUnavailableError extends BayError {
  constructor(endpoint: string, cause?: unknown) {
    super("driver_unavailable", `container engine at ${endpoint} cannot be reached`, { endpoint }, { cause });
  }
}

/** The engine took a call but did not answer it in time (stopped, overloaded): as unavailable as a closed socket. */
export class EngineTimeoutError extends BayError {
  constructor(endpoint: string, action: string, timeoutMs: number) {
    super("driver_unavailable", `container engine at ${endpoint} did not answer within ${timeoutMs / 1000} s (trying to ${action})`, {
      endpoint,
      action,
      timeout_seconds: timeoutMs / 1000,
    });
  }
}

/** The container engine answered, but with a failure (not one of the caller's making). */
export class EngineError extends BayError {
  constructor(action: string, engineMessage: string, engineStatus: number | null) {
    super("ship_error", `container engine failed to ${action}: ${engineMessage}`, { action, engine_status: engineStatus });
  }
}

/** A profile's image is not on the engine and cannot be pulled (pull_policy never, or the pull failed). */
export class ImageUnavailableError extends BayError {
  constructor(image: string, reason: string) {
    super("ship_error", `image ${image} is not available: ${reason}`, { image });
  }
}

interface DockerodeError {
  statusCode?: number;
  code?: string;
  json?: { message?: string } | null;
  reason?: string;
  message?: string;
}

/** Socket-level failures: nothing is listening, or we may not talk to it. */
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ENOENT",
  "EACCES",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ConnectionRefused",
  "FailedToOpenSocket",
]);

export function statusOf(error: unknown): number | undefined {
  return (error as DockerodeError | null)?.statusCode;
}

export function engineMessage(error: unknown): string {
  const e = error as DockerodeError;
  return e?.json?.message ?? e?.reason ?? e?.message ?? String(error);
}

function isConnectionFailure(error: unknown): boolean {
  const e = error as DockerodeError | null;
  return Boolean(e && e.statusCode === undefined && e.code && CONNECTION_CODES.has(e.code));
}

/** A dockerode failure as the contract's error: an unreachable engine is driver_unavailable, the rest EngineError. */
export function engineFailure(error: unknown, endpoint: string, action: string): BayError {
  if (error instanceof BayError) return error;
  if (isConnectionFailure(error)) return new DriverUnavailableError(endpoint, error);
  return new EngineError(action, engineMessage(error), statusOf(error) ?? null);
}

/** A profile's runtime is not registered in the engine: the start fails, it never falls back to runc. */
export class RuntimeUnavailableError extends BayError {
  constructor(runtime: string, engineRuntime: string, registered: string[]) {
    super("ship_error", runtimeMissingMessage(runtime, engineRuntime, registered), { runtime, engine_runtime: engineRuntime, registered });
  }
}

/** What an operator reads when the engine lacks a runtime a profile asks for, with how to register it. */
export function runtimeMissingMessage(runtime: string, engineRuntime: string, registered: string[]): string {
  return (
    `profiles with runtime: ${runtime} need the engine runtime "${engineRuntime}", which this Docker engine does not have ` +
    `(it has: ${registered.join(", ") || "none"}). Install gVisor (apt install runsc) and register it in /etc/docker/daemon.json as ` +
    `{"runtimes": {"${engineRuntime}": {"path": "/usr/bin/runsc", "runtimeArgs": ["--network=host", "--host-uds=create"]}}}, then reload the engine ` +
    `(kill -HUP $(pidof dockerd)); or set driver.docker.gvisor_runtime to the name it is registered under`
  );
}
