import { describe, expect, test } from "bun:test";
import { encodeEvent, eventStreamResponse, parseEventStream, type StreamEvent } from "../../src/shared/sse.ts";

function streamOf(...chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

async function collect(body: ReadableStream<Uint8Array>): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for await (const event of parseEventStream(body)) events.push(event);
  return events;
}

describe("server-sent events", () => {
  test("an event is one event line and one JSON data line, whatever the data holds", () => {
    expect(encodeEvent("stdout", { text: "a\nb\r\n\u0000" })).toBe('event: stdout\ndata: {"text":"a\\nb\\r\\n\\u0000"}\n\n');
  });

  test("event names cannot inject lines", () => {
    expect(() => encodeEvent("done\ndata: x", {})).toThrow();
  });

  test("parsing undoes encoding, across arbitrary chunk boundaries", async () => {
    const text = encodeEvent("stdout", { text: "héllo\n" }) + encodeEvent("done", { success: true, n: 1 });
    for (let split = 0; split <= text.length; split += 7) {
      expect(await collect(streamOf(text.slice(0, split), text.slice(split)))).toEqual([
        { event: "stdout", data: { text: "héllo\n" } },
        { event: "done", data: { success: true, n: 1 } },
      ]);
    }
  });

  test("comments (heartbeats) are skipped; CRLF and multi-line data are understood", async () => {
    expect(await collect(streamOf(": keep-alive\n\n", "event: x\r\ndata: 1\r\n\r\n", "data: [1,\ndata: 2]\n\n"))).toEqual([
      { event: "x", data: 1 },
      { event: "message", data: [1, 2] },
    ]);
  });

  test("a response streams what the producer sends, and an error becomes an error event", async () => {
    const response = eventStreamResponse(async (send) => {
      send("stdout", { text: "1" });
      throw new Error("broke");
    });
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    expect(await collect(response.body!)).toEqual([
      { event: "stdout", data: { text: "1" } },
      { event: "error", data: { message: "broke" } },
    ]);
  });
});
