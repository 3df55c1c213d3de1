/**
 * Event streams through a real `bay serve` (its HTTP server and front door,
 * with their idle timeouts) stay open through a long silence: heartbeats
 * come more often than the server's idle timeout (server.request_header_timeout_seconds,
 * 15 s by default) would cut a quiet connection.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { parseEventStream, type StreamEvent } from "../../src/shared/sse.ts";
import { useServeProcess } from "../helpers/serve-process.ts";

// 20 s of silence each, on purpose; nothing here asserts speed.
setDefaultTimeout(120_000);

const API_KEY = "stream-silence-key-0123456789";
const server = useServeProcess({ BAY_API_KEY: API_KEY });
// A header deadline shorter than the heartbeat's interval: it times a new connection's first header, not a stream.
const strictServer = useServeProcess({ BAY_API_KEY: API_KEY, BAY_SERVER__REQUEST_HEADER_TIMEOUT_SECONDS: "2" });
const headers = { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" };
const SILENT = { command: "sleep 20; echo done" };

async function sandbox(on = server): Promise<string> {
  const { id } = (await (await fetch(`${on.url}/v1/sandboxes`, { method: "POST", headers, body: "{}" })).json()) as { id: string };
  expect((await fetch(`${on.url}/v1/sandboxes/${id}/shell/exec`, { method: "POST", headers, body: JSON.stringify({ command: "true" }) })).status).toBe(200);
  return id;
}

async function eventsOf(response: Response): Promise<StreamEvent[]> {
  expect(response.status).toBe(200);
  const events: StreamEvent[] = [];
  for await (const event of parseEventStream(response.body!)) events.push(event);
  return events;
}

describe("event streams through a long silence", () => {
  test("a followed process start gets its output and exit after 20 s without a byte of output", async () => {
    const id = await sandbox();
    const events = await eventsOf(
      await fetch(`${server.url}/v1/sandboxes/${id}/processes`, { method: "POST", headers: { ...headers, accept: "text/event-stream" }, body: JSON.stringify(SILENT) }),
    );
    expect(events.map((event) => event.event)).toEqual(["start", "stdout", "exit"]);
    expect(events.at(-1)!.data).toMatchObject({ running: false, exit_code: 0 });
  });

  test("…/processes/stream of a quiet process, and a streamed shell execution, the same", async () => {
    const id = await sandbox();
    const started = (await (await fetch(`${server.url}/v1/sandboxes/${id}/processes`, { method: "POST", headers, body: JSON.stringify(SILENT) })).json()) as { pid: number };
    const [followed, executed] = await Promise.all([
      eventsOf(await fetch(`${server.url}/v1/sandboxes/${id}/processes/stream?pid=${started.pid}`, { headers: { ...headers, accept: "text/event-stream" } })),
      eventsOf(await fetch(`${server.url}/v1/sandboxes/${id}/shell/exec`, { method: "POST", headers: { ...headers, accept: "text/event-stream" }, body: JSON.stringify({ ...SILENT, timeout: 60 }) })),
    ]);
    expect(followed.at(-1)).toMatchObject({ event: "exit", data: { exit_code: 0 } });
    expect(executed.at(-1)).toMatchObject({ event: "done", data: { exit_code: 0, output: "done\n" } });
  });

  test("with server.request_header_timeout_seconds under the heartbeat's interval too", async () => {
    const id = await sandbox(strictServer);
    const events = await eventsOf(
      await fetch(`${strictServer.url}/v1/sandboxes/${id}/processes`, { method: "POST", headers: { ...headers, accept: "text/event-stream" }, body: JSON.stringify(SILENT) }),
    );
    expect(events.at(-1)).toMatchObject({ event: "exit", data: { exit_code: 0 } });
  });
});
