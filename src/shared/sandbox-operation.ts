import type { Static, TSchema } from "@sinclair/typebox";

/**
 * One thing a capability lets clients do to a sandbox over Bay's API,
 * declared once by its plugin (plugins/<name>/operations.ts). The Bay half
 * registers its route from it; the SDK calls it (`bay.run`), `bay mcp`
 * offers it as a tool when it names one, and `bay call` runs it from a
 * shell, so a new capability needs no edit in any of them.
 */
export interface SandboxOperation<Input extends TSchema = TSchema, Output extends TSchema = TSchema> {
  /** "<capability>.<verb>", e.g. "python.exec"; what `bay call` takes. */
  readonly name: string;
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  /** Under /v1/sandboxes/:id, e.g. "/python/exec". */
  readonly path: string;
  /** A JSON body, or (GET and DELETE) the query string. */
  readonly input: Input;
  readonly inputIn: "body" | "query";
  /** The 200 answer. */
  readonly output: Output;
  readonly summary: string;
  /** Running it twice does what running it once does: the SDK may retry it after a 502/503/504. */
  readonly safeToRepeat: boolean;
  /** Answers as an event stream too, to clients that accept text/event-stream. */
  readonly streams: boolean;
  /** Offered to agents over MCP under this name. */
  readonly tool?: OperationTool<Input, Output>;
}

export interface OperationTool<Input extends TSchema = TSchema, Output extends TSchema = TSchema> {
  readonly name: string;
  readonly description: string;
  /** How the answer reads to a model; without it, the answer as JSON. */
  present?(output: Static<Output>, input: Static<Input>): { text: string; isError?: boolean };
}

export function sandboxOperation<Input extends TSchema, Output extends TSchema>(
  declaration: Omit<SandboxOperation<Input, Output>, "inputIn" | "streams" | "safeToRepeat"> & { streams?: boolean; safeToRepeat?: boolean },
): SandboxOperation<Input, Output> {
  const inputIn = declaration.method === "GET" || declaration.method === "DELETE" ? "query" : "body";
  return { ...declaration, inputIn, streams: declaration.streams ?? false, safeToRepeat: declaration.safeToRepeat ?? false };
}

/** The operation's route as Bay registers it. */
export function operationRoute(operation: SandboxOperation): string {
  return `/v1/sandboxes/:id${operation.path}`;
}

/** The operation's URL path for one sandbox. */
export function operationUrl(operation: SandboxOperation, sandboxId: string): string {
  return `/v1/sandboxes/${encodeURIComponent(sandboxId)}${operation.path}`;
}
