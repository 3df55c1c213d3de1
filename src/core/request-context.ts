import { AsyncLocalStorage } from "node:async_hooks";
import { timed } from "../shared/timing.ts";

interface RequestContext {
  requestId: string;
  /** The response's headers while they can still change; Server-Timing entries go there. */
  headers?: Record<string, string | number>;
}

/** The request being served, for everything that runs on its behalf (logs above all). */
const requestContext = new AsyncLocalStorage<RequestContext>();

/** Called as a request starts; what runs from here on, awaits included, sees its id. */
export function enterRequest(requestId: string, headers?: Record<string, string | number>): void {
  requestContext.enterWith({ requestId, headers });
}

export function currentRequestId(): string | undefined {
  return requestContext.getStore()?.requestId;
}

/**
 * Adds a step's duration to the answer's standard Server-Timing header
 * (e.g. the phases of a session start), so that a client sees where a slow
 * call's time went. Outside a request it does nothing.
 */
export function recordServerTiming(name: string, ms: number): void {
  const headers = requestContext.getStore()?.headers;
  if (!headers) return;
  const entry = `${name};dur=${ms.toFixed(1)}`;
  const earlier = headers["server-timing"];
  headers["server-timing"] = earlier ? `${earlier}, ${entry}` : entry;
}

/** Runs `step`, recording its duration as `name` (see recordServerTiming). */
export function timedStep<T>(name: string, step: () => Promise<T>): Promise<T> {
  return timed(step, (ms) => recordServerTiming(name, ms));
}
