import type { Static, TSchema } from "@sinclair/typebox";

/**
 * One route of the agent, declared once by its capability plugin and used by
 * both halves: Bay calls it through AgentClient.call/send/openRoute, the
 * agent serves it through `handle` (src/kit/agent.ts), and both check the
 * input against the same schema. The answer's schema types both sides (it
 * is not checked at run time).
 */
export interface AgentRoute<Input extends TSchema = TSchema, Answer extends TSchema | undefined = TSchema | undefined> {
  readonly method: "GET" | "POST";
  readonly path: string;
  /** The request's input: a JSON body, or (inputIn "query") the query string, e.g. when the body is a byte stream. */
  readonly input: Input;
  readonly inputIn: "body" | "query";
  /** The JSON answer; undefined when the answer is raw bytes (a download). */
  readonly answer: Answer;
  /** "METHOD /path", how the agent looks the route up. */
  readonly key: string;
}

export function agentRoute<Input extends TSchema, Answer extends TSchema | undefined>(
  method: "GET" | "POST",
  path: string,
  schemas: { input: Input; inputIn?: "body" | "query"; answer: Answer },
): AgentRoute<Input, Answer> {
  const inputIn = schemas.inputIn ?? (method === "GET" ? "query" : "body");
  return { method, path, input: schemas.input, inputIn, answer: schemas.answer, key: `${method} ${path}` };
}

export type RouteInput<R extends AgentRoute> = Static<R["input"]>;
export type RouteAnswer<R extends AgentRoute> = R["answer"] extends TSchema ? Static<R["answer"]> : never;

/** The route's path, with the input as its query string when the input travels there (flat: strings, numbers, booleans). */
export function agentRouteUrl(route: AgentRoute, input: unknown): string {
  if (route.inputIn !== "query") return route.path;
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries((input ?? {}) as Record<string, unknown>)) {
    if (value !== undefined && value !== null) query.set(name, String(value));
  }
  const text = query.toString();
  return text ? `${route.path}?${text}` : route.path;
}
