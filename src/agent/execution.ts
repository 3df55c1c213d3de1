import { eventStreamResponse, wantsEventStream } from "../shared/sse.ts";
import { jsonResponse } from "./http.ts";

/** Sends one live event (stdout, stderr, result, error) while code runs. */
export type EmitEvent = (event: "stdout" | "stderr" | "result" | "error", data: unknown) => void;

/**
 * Answers an execution as JSON, or, when the client asks for
 * text/event-stream, as live events followed by `done` carrying the same
 * summary the JSON answer would have been.
 */
export async function executionResponse(
  request: Request,
  execute: (emit: EmitEvent, signal: AbortSignal | undefined) => Promise<unknown>,
): Promise<Response> {
  if (!wantsEventStream(request)) return jsonResponse(await execute(() => undefined, undefined));
  return eventStreamResponse(async (send, signal) => {
    const summary = await execute(send, signal);
    send("done", summary);
  });
}
