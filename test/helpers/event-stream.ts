import { parseEventStream, type StreamEvent } from "../../src/shared/sse.ts";

export interface TimedEvent extends StreamEvent {
  /** Milliseconds since the request was sent. */
  at: number;
}

/** Reads a whole event stream, noting when each event arrived. */
export async function readEvents(response: Response, startedAt: number): Promise<TimedEvent[]> {
  const events: TimedEvent[] = [];
  for await (const event of parseEventStream(response.body!)) events.push({ ...event, at: performance.now() - startedAt });
  return events;
}
