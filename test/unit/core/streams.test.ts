/**
 * SandboxService.streamFromAgent, the one place that holds a sandbox busy for
 * a stream: an event stream or a download keeps its sandbox from being
 * reaped as idle from before the start until the client has the last byte
 * or leaves, and releases it exactly then, whatever happened.
 */
import { describe, expect, test } from "bun:test";
import { DOWNLOAD_FILE } from "../../../plugins/filesystem/routes.ts";
import { PYTHON_EXEC } from "../../../plugins/python/routes.ts";
import { OWNER, UNIT_PROFILE, eventually, useUnitBays, type UnitBay } from "./unit-bay.ts";

const startBay = useUnitBays();

/** An agent answer whose body sends `first`, then waits for `finish()` before sending `last` and ending. */
function gatedBody(first: string, last: string) {
  const gate = Promise.withResolvers<void>();
  const encoder = new TextEncoder();
  let sentFirst = false;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!sentFirst) {
        sentFirst = true;
        controller.enqueue(encoder.encode(first));
        return;
      }
      await gate.promise;
      controller.enqueue(encoder.encode(last));
      controller.close();
    },
  });
  return { body, finish: () => gate.resolve() };
}

const EVENT = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
const DONE = { success: true, output: "hi\n", error: null, data: { execution_count: 1, output: { text: "hi\n", images: [] } }, execution_time_ms: 1 };

async function bayWithGatedAgent() {
  const gates: { finish: () => void }[] = [];
  const bay = await startBay({
    driver: {
      agentRoutes: {
        [PYTHON_EXEC.key]: () => {
          const gated = gatedBody(EVENT("stdout", { text: "hi\n" }), EVENT("done", DONE));
          gates.push(gated);
          return new Response(gated.body, { headers: { "content-type": "text/event-stream" } });
        },
        [DOWNLOAD_FILE.key]: () => {
          const gated = gatedBody("first half,", "second half");
          gates.push(gated);
          return new Response(gated.body, { headers: { "content-type": "application/octet-stream" } });
        },
      },
    },
  });
  const sandbox = await bay.core.sandboxes.create(OWNER, {});
  return { bay, sandboxId: sandbox.id, gates };
}

const openEventStream = (bay: UnitBay, id: string) =>
  bay.request("POST", `/v1/sandboxes/${id}/python/exec`, { body: { code: "print('hi')" }, headers: { accept: "text/event-stream" } });

/** What the tests do with a response body's reader (app.handle's bodies are typed as Node's web streams). */
interface ByteReader {
  read(): Promise<{ done: boolean; value?: Uint8Array }>;
  cancel(): Promise<void>;
}

async function readFirst(response: Response): Promise<{ reader: ByteReader; text: string }> {
  const reader: ByteReader = response.body!.getReader();
  const { value } = await reader.read();
  return { reader, text: new TextDecoder().decode(value) };
}

async function readRest(reader: ByteReader): Promise<string> {
  let text = "";
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += new TextDecoder().decode(chunk.value);
  return text;
}

describe("a stream holds its sandbox busy", () => {
  test("an event stream: busy while it runs, released once the client has read its end, with activity recorded", async () => {
    const { bay, sandboxId, gates } = await bayWithGatedAgent();
    const response = await openEventStream(bay, sandboxId);
    expect(response.status).toBe(200);
    const { reader, text } = await readFirst(response);
    expect(text).toContain("event: stdout");
    expect(bay.core.sessions.isBusy(sandboxId)).toBe(true);
    await Bun.sleep(5);
    const finishedAt = Date.now();
    gates[0]!.finish();
    expect(await readRest(reader)).toContain("event: done");
    await eventually(() => !bay.core.sessions.isBusy(sandboxId), "the stream's hold is released");
    // The idle clock counts from the stream's end, not its start.
    expect((await bay.store.activeSession(sandboxId))!.idleExpiresAt).toBeGreaterThanOrEqual(finishedAt + UNIT_PROFILE.idle_timeout * 1000);
  });

  test("an event stream the client leaves mid-way releases the sandbox", async () => {
    const { bay, sandboxId } = await bayWithGatedAgent();
    const { reader } = await readFirst(await openEventStream(bay, sandboxId));
    expect(bay.core.sessions.isBusy(sandboxId)).toBe(true);
    await reader.cancel();
    await eventually(() => !bay.core.sessions.isBusy(sandboxId), "the abandoned stream's hold is released");
  });

  test("a download: busy until the last byte, then released; bytes pass through unchanged", async () => {
    const { bay, sandboxId, gates } = await bayWithGatedAgent();
    const response = await bay.request("GET", `/v1/sandboxes/${sandboxId}/filesystem/download?path=a.bin`);
    expect(response.status).toBe(200);
    const { reader, text } = await readFirst(response);
    expect(bay.core.sessions.isBusy(sandboxId)).toBe(true);
    gates[0]!.finish();
    expect(text + (await readRest(reader))).toBe("first half,second half");
    await eventually(() => !bay.core.sessions.isBusy(sandboxId), "the download's hold is released");
  });

  test("a stream that cannot be opened releases the sandbox at once", async () => {
    const bay = await startBay({
      driver: { agentRoutes: { [PYTHON_EXEC.key]: () => Response.json({ error: { code: "internal_error", message: "broken" } }, { status: 500 }) } },
    });
    const sandbox = await bay.core.sandboxes.create(OWNER, {});
    const response = await openEventStream(bay, sandbox.id);
    expect(response.status).toBe(502);
    expect(bay.core.sessions.isBusy(sandbox.id)).toBe(false);
  });

  test("holds are counted per stream: with two open, closing one keeps the sandbox busy", async () => {
    const { bay, sandboxId, gates } = await bayWithGatedAgent();
    const first = await readFirst(await openEventStream(bay, sandboxId));
    const second = await readFirst(await openEventStream(bay, sandboxId));
    gates[0]!.finish();
    await readRest(first.reader);
    expect(bay.core.sessions.isBusy(sandboxId)).toBe(true);
    gates[1]!.finish();
    await readRest(second.reader);
    await eventually(() => !bay.core.sessions.isBusy(sandboxId), "both holds are released");
  });
});
