/**
 * Background processes and terminals (…/processes), on real containers:
 * they outlive the request that started them, keep their output for
 * replay, take stdin and signals, and end with the session.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { parseEventStream, type StreamEvent } from "../../src/shared/sse.ts";
import { TEST_API_KEY } from "../helpers/env.ts";
import { expectErrorShape, useSandbox, useTestBay } from "../helpers/test-bay.ts";

// Real containers; generous, and nothing here asserts speed.
setDefaultTimeout(90_000);

const bay = useTestBay({ config: { ship: { max_output_bytes: 65536 } } });
const sandbox = useSandbox(bay);

const path = (suffix: string) => `/v1/sandboxes/${sandbox.id}/processes${suffix}`;
const start = async (body: Record<string, unknown>) => {
  const started = await bay.request("POST", path(""), body);
  expect(started.status).toBe(200);
  return started.body as { pid: number; running: boolean; pty: boolean; stdin: boolean };
};
const wait = async (pid: number, timeout = 30) => (await bay.request("POST", path("/wait"), { pid, timeout })).body;
const output = async (pid: number, after = 0) => (await bay.request("GET", path(`/output?pid=${pid}&after=${after}`))).body;

/** Sends `request` and reads its event stream until `until` says stop (the body is then cancelled) or it ends. */
async function eventsOf(request: Request, until: (event: StreamEvent, all: StreamEvent[]) => boolean = () => false): Promise<StreamEvent[]> {
  const response = await bay.app.handle(request);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toContain("text/event-stream");
  const events: StreamEvent[] = [];
  for await (const event of parseEventStream(response.body!)) {
    events.push(event);
    if (until(event, events)) break;
  }
  return events;
}

/** Follows a process's output stream (…/processes/stream?query). */
const streamEvents = (query: string, until?: (event: StreamEvent, all: StreamEvent[]) => boolean) =>
  eventsOf(new Request(`http://localhost${path(`/stream?${query}`)}`, { headers: { authorization: `Bearer ${TEST_API_KEY}` } }), until);

/** How many `sleep 300`/`sleep 301` run in the sandbox, from /proc (the test image has no pgrep). */
async function sleepers(): Promise<number> {
  const listing = await bay.request("POST", `/v1/sandboxes/${sandbox.id}/shell/exec`, {
    command: "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; done",
  });
  return (listing.body.output as string).split("\n").filter((line) => /^sleep 30[01] $/.test(line)).length;
}

const text = (events: StreamEvent[], stream = "stdout") =>
  events.filter((event) => event.event === stream).map((event) => (event.data as { data: string }).data).join("");

describe("background processes", () => {
  test("start answers at once; the process runs on after the request, is listed, and its exit code is waited for", async () => {
    const process = await start({ command: "sleep 1; echo done; exit 7", tag: "job" });
    expect(process).toMatchObject({ running: true, pty: false, stdin: false });
    expect(process.pid).toBeGreaterThan(1);
    const listed = (await bay.request("GET", path(""))).body.items as { pid: number; tag: string | null; running: boolean }[];
    expect(listed.find((item) => item.pid === process.pid)).toMatchObject({ tag: "job", running: true });

    const ended = await wait(process.pid);
    expect(ended).toMatchObject({ running: false, exit_code: 7 });
    expect(ended.ended_at).not.toBeNull();
    expect((await bay.request("GET", path(`/status?pid=${process.pid}`))).body).toMatchObject({ running: false, exit_code: 7 });
    expect((await output(process.pid)).chunks.map((chunk: { data: string }) => chunk.data).join("")).toBe("done\n");
  });

  test("wait with a short timeout answers that it still runs", async () => {
    const process = await start({ command: "sleep 30" });
    expect(await wait(process.pid, 1)).toMatchObject({ running: true, exit_code: null });
    await bay.request("POST", path("/signal"), { pid: process.pid, signal: "SIGKILL" });
    expect(await wait(process.pid)).toMatchObject({ running: false, exit_code: 137 });
  });

  test("the stream replays kept output, follows live output in order, ends with exit; a reconnect after a seq loses nothing", async () => {
    const process = await start({ command: "for i in 1 2 3 4 5 6; do echo out$i; echo err$i >&2; sleep 0.3; done" });
    // Leave after the third stdout line, as a client whose connection dropped.
    const first = await streamEvents(`pid=${process.pid}`, (_, all) => all.filter((event) => event.event === "stdout").length >= 3);
    const lastSeq = Math.max(...first.map((event) => (event.data as { seq: number }).seq));
    const rest = await streamEvents(`pid=${process.pid}&after=${lastSeq}`);
    expect(rest.at(-1)).toMatchObject({ event: "exit", data: { pid: process.pid, running: false, exit_code: 0 } });
    const all = [...first, ...rest];
    expect(text(all)).toBe("out1\nout2\nout3\nout4\nout5\nout6\n");
    expect(text(all, "stderr")).toBe("err1\nerr2\nerr3\nerr4\nerr5\nerr6\n");
    const seqs = all.filter((event) => event.event !== "exit").map((event) => (event.data as { seq: number }).seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    // After the exit the whole stream is a replay, also as base64.
    const replay = await streamEvents(`pid=${process.pid}&encoding=base64`);
    expect(Buffer.from(replay.filter((event) => event.event === "stdout").map((event) => (event.data as { data: string }).data).map((b64) => Buffer.from(b64, "base64")).reduce((a, b) => Buffer.concat([a, b]))).toString()).toBe("out1\nout2\nout3\nout4\nout5\nout6\n");
  });

  test("output beyond the buffer drops the oldest, and says how much", async () => {
    const process = await start({ command: "head -c 200000 /dev/zero | tr '\\0' x; echo; echo tail-marker" });
    await wait(process.pid);
    const kept = await output(process.pid);
    expect(kept.process.output_bytes).toBe(200013);
    expect(kept.process.dropped_bytes).toBeGreaterThan(200013 - 65536 - 1);
    expect(kept.missed_bytes).toBe(kept.process.dropped_bytes);
    expect(kept.chunks.map((chunk: { data: string }) => chunk.data).join("")).toEndWith("tail-marker\n");
    const events = await streamEvents(`pid=${process.pid}`);
    expect(events[0]).toEqual({ event: "dropped", data: { bytes: kept.process.dropped_bytes } });
  });

  test("a reader that resumes after the buffer moved on is told exactly how many bytes it missed", async () => {
    // At most 65 536 bytes are kept: the As are read, then the Bs and Cs push the As and (some of) the Bs out.
    const process = await start({ command: "head -c 40000 /dev/zero | tr '\\0' A; sleep 1; head -c 40000 /dev/zero | tr '\\0' B; head -c 40000 /dev/zero | tr '\\0' C" });
    let early = await output(process.pid);
    for (let i = 0; i < 50 && early.process.output_bytes < 40000; i++, await Bun.sleep(50)) early = await output(process.pid);
    const readSoFar = early.chunks.map((chunk: { data: string }) => chunk.data).join("").length;
    const lastSeq = early.chunks.at(-1).seq as number;
    expect(lastSeq).toBe(readSoFar);
    await wait(process.pid);
    const resumed = await output(process.pid, lastSeq);
    const rest = resumed.chunks.map((chunk: { data: string }) => chunk.data).join("");
    expect(readSoFar + resumed.missed_bytes + rest.length).toBe(120000);
    // What was missed is exactly the Bs no longer kept: the rest picks up where they end.
    expect(readSoFar).toBe(40000);
    expect(resumed.missed_bytes).toBeGreaterThan(0);
    expect(rest).toBe("B".repeat(40000 - resumed.missed_bytes) + "C".repeat(40000));
  });

  test("stdin: written bytes reach the process, and closing it ends its input", async () => {
    const process = await start({ command: "cat; echo '[eof]'", stdin: true });
    expect(process.stdin).toBe(true);
    expect((await bay.request("POST", path("/stdin"), { pid: process.pid, data: "hello " })).body).toEqual({ status: "ok" });
    await bay.request("POST", path("/stdin"), { pid: process.pid, data: Buffer.from("wörld\n").toString("base64"), encoding: "base64" });
    expect((await bay.request("POST", path("/close-stdin"), { pid: process.pid })).status).toBe(200);
    expect(await wait(process.pid)).toMatchObject({ exit_code: 0, stdin: false });
    expect((await output(process.pid)).chunks.map((chunk: { data: string }) => chunk.data).join("")).toBe("hello wörld\n[eof]\n");
    // Writing to a process that has exited is a conflict, not a silent loss.
    expectErrorShape(await bay.request("POST", path("/stdin"), { pid: process.pid, data: "late" }), 409, "conflict");
  });

  test("a process started without stdin reads end of file; writing to it is refused", async () => {
    const process = await start({ command: "cat; echo after-cat" });
    expect(await wait(process.pid)).toMatchObject({ exit_code: 0 });
    expect((await output(process.pid)).chunks.map((chunk: { data: string }) => chunk.data).join("")).toBe("after-cat\n");
    const sleeper = await start({ command: "sleep 30" });
    expectErrorShape(await bay.request("POST", path("/stdin"), { pid: sleeper.pid, data: "x" }), 409, "conflict");
    await bay.request("POST", path("/signal"), { pid: sleeper.pid, signal: "SIGKILL" });
  });

  test("a signal reaches the whole process group: the command's own children go too", async () => {
    const process = await start({ command: "sleep 300 & sleep 301 & wait" });
    await Bun.sleep(300);
    expect(await sleepers()).toBe(2);
    expect((await bay.request("POST", path("/signal"), { pid: process.pid, signal: "SIGTERM" })).status).toBe(200);
    expect(await wait(process.pid)).toMatchObject({ running: false, exit_code: 143 });
    expect(await sleepers()).toBe(0);
    expectErrorShape(await bay.request("POST", path("/signal"), { pid: process.pid, signal: "SIGTERM" }), 409, "conflict");
  });

  test("timeout kills the process group", async () => {
    const process = await start({ command: "sleep 300", timeout: 1 });
    expect(await wait(process.pid)).toMatchObject({ running: false, exit_code: 137 });
  });

  test("bad input is refused in the contract's shape: unknown pid, bad signal, bad cwd, bad env name", async () => {
    expectErrorShape(await bay.request("GET", path("/status?pid=999999")), 404, "not_found");
    expectErrorShape(await bay.request("POST", path("/signal"), { pid: 1, signal: "SIGBOGUS" }), 422, "validation_error");
    expectErrorShape(await bay.request("POST", path(""), { command: "true", cwd: "../etc" }), 400, "invalid_path");
    expectErrorShape(await bay.request("POST", path(""), { command: "true", cwd: "no-such-dir" }), 404, "file_not_found");
    expectErrorShape(await bay.request("POST", path(""), { command: "true", env: { "BAD NAME": "x" } }), 422, "validation_error");
    expectErrorShape(await bay.request("POST", path("/resize"), { pid: (await start({ command: "true" })).pid, cols: 80, rows: 24 }), 409, "conflict");
  });
});

describe("programs without a shell, and a start that follows its process", () => {
  /** POST …/processes asking for an event stream. */
  const startFollowing = (body: Record<string, unknown>, until?: (event: StreamEvent) => boolean) =>
    eventsOf(
      new Request(`http://localhost${path("")}`, {
        method: "POST",
        headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json", accept: "text/event-stream" },
        body: JSON.stringify(body),
      }),
      until,
    );

  test("argv runs the program itself: words with spaces and quotes arrive as they are, no shell expands anything", async () => {
    const argv = ["printf", "[%s]", "a b", "it's", "$HOME", "*"];
    const process = (await start({ argv })) as unknown as { pid: number; argv: string[]; command: string };
    expect(process.argv).toEqual(argv);
    expect(process.command).toBe("printf '[%s]' 'a b' 'it'\\''s' '$HOME' '*'");
    expect(await wait(process.pid)).toMatchObject({ running: false, exit_code: 0, argv });
    expect((await output(process.pid)).chunks.map((chunk: { data: string }) => chunk.data).join("")).toBe("[a b][it's][$HOME][*]");
    // A shell command is listed as one, without argv.
    const shellProcess = (await start({ command: "true" })) as unknown as { argv: string[] | null; command: string };
    expect(shellProcess).toMatchObject({ argv: null, command: "true" });
  });

  test("argv in a subdirectory and in the workspace run there, as the sandbox user", async () => {
    await bay.request("POST", `/v1/sandboxes/${sandbox.id}/shell/exec`, { command: "mkdir -p sub/dir" });
    for (const [cwd, expected] of [[undefined, "/workspace"], ["sub/dir", "/workspace/sub/dir"]] as const) {
      const process = await start({ argv: ["sh", "-c", "pwd; id -u"], ...(cwd ? { cwd } : {}) });
      await wait(process.pid);
      expect((await output(process.pid)).chunks.map((chunk: { data: string }) => chunk.data).join("")).toBe(`${expected}\n1000\n`);
    }
  });

  test("exactly one of command and argv; a program that is not there is refused before anything starts", async () => {
    expectErrorShape(await bay.request("POST", path(""), { command: "true", argv: ["true"] }), 422, "validation_error");
    expectErrorShape(await bay.request("POST", path(""), { cwd: "." }), 422, "validation_error");
    expectErrorShape(await bay.request("POST", path(""), { argv: [] }), 422, "validation_error");
    for (const cwd of [".", "sub/dir"]) {
      const refused = await bay.request("POST", path(""), { argv: ["no-such-program-here", "x"], cwd });
      expectErrorShape(refused, 422, "validation_error");
      expect(refused.body.error.message).toContain("no-such-program-here");
    }
  });

  test("with Accept: text/event-stream, start follows the process: start, its output, then exit", async () => {
    const events = await startFollowing({ argv: ["sh", "-c", "echo out; echo err >&2; exit 3"], encoding: "base64" });
    expect(events[0]!.event).toBe("start");
    const started = events[0]!.data as { pid: number; running: boolean };
    expect(started.pid).toBeGreaterThan(1);
    const decoded = (stream: string) =>
      events.filter((event) => event.event === stream).map((event) => Buffer.from((event.data as { data: string }).data, "base64").toString()).join("");
    expect({ stdout: decoded("stdout"), stderr: decoded("stderr") }).toEqual({ stdout: "out\n", stderr: "err\n" });
    expect(events.at(-1)).toMatchObject({ event: "exit", data: { pid: started.pid, running: false, exit_code: 3 } });
  });

  test("leaving a followed start leaves the process running, and its output is still there to read", async () => {
    const events = await startFollowing({ command: "echo first; sleep 300" }, (event) => event.event === "stdout");
    const pid = (events[0]!.data as { pid: number }).pid;
    expect(text(events)).toBe("first\n");
    expect((await bay.request("GET", path(`/status?pid=${pid}`))).body).toMatchObject({ running: true });
    expect((await output(pid)).chunks.map((chunk: { data: string }) => chunk.data).join("")).toBe("first\n");
    await bay.request("POST", path("/signal"), { pid, signal: "SIGKILL" });
    expect(await wait(pid)).toMatchObject({ running: false, exit_code: 137 });
  });

  test("the SDK's processes.run yields the same events", async () => {
    const { Bay } = await import("../../src/client/index.ts");
    const client = new Bay({ apiKey: TEST_API_KEY, fetch: (request) => bay.app.handle(request) });
    const seen: string[] = [];
    let exitCode: number | null = null;
    for await (const event of client.processes.run(sandbox.id, { argv: ["echo", "from sdk"] })) {
      seen.push(event.event);
      if (event.event === "stdout") expect(event.data.data).toBe("from sdk\n");
      if (event.event === "exit") exitCode = event.data.exit_code;
    }
    expect(seen).toEqual(["start", "stdout", "exit"]);
    expect(exitCode).toBe(0);
  });
});

describe("terminals", () => {
  test("a pty process sees a terminal of the asked size, takes keyboard input, and is resized", async () => {
    const process = await start({ command: "tty -s && echo is-a-tty; stty size; read line; echo got:$line; stty size", pty: { cols: 100, rows: 30 } });
    expect(process.pty).toBe(true);
    const seen = async (needle: string) => {
      for (let i = 0; i < 50; i++) {
        const all = (await output(process.pid)).chunks.map((chunk: { data: string }) => chunk.data).join("");
        if (all.includes(needle)) return all;
        await Bun.sleep(100);
      }
      throw new Error(`never saw ${needle}`);
    };
    await seen("30 100");
    expect((await bay.request("POST", path("/resize"), { pid: process.pid, cols: 120, rows: 40 })).status).toBe(200);
    await bay.request("POST", path("/stdin"), { pid: process.pid, data: "typed\r" });
    expect(await wait(process.pid)).toMatchObject({ exit_code: 0 });
    const screen = await seen("40 120");
    expect(screen).toContain("is-a-tty");
    expect(screen).toContain("got:typed");
    // One merged stream, with the terminal's line endings.
    const events = await streamEvents(`pid=${process.pid}`);
    expect(events.some((event) => event.event === "stdout" || event.event === "stderr")).toBe(false);
    expect(text(events, "pty")).toContain("30 100\r\n");
  });
});

describe("terminals act as a local one", () => {
  test("Ctrl-C on the keyboard interrupts the foreground program; the shell has job control", async () => {
    const shell = await start({ command: "bash --norc --noprofile -i", pty: { cols: 80, rows: 24 } });
    const screen = async () => (await output(shell.pid)).chunks.map((chunk: { data: string }) => chunk.data).join("");
    const seen = async (needle: string) => {
      for (let i = 0; i < 100 && !(await screen()).includes(needle); i++) await Bun.sleep(100);
      return screen();
    };
    await bay.request("POST", path("/stdin"), { pid: shell.pid, data: "sleep 300; echo slept-$((1+1))\r" });
    await seen("sleep 300");
    await Bun.sleep(300);
    await bay.request("POST", path("/stdin"), { pid: shell.pid, data: "\x03" });
    await bay.request("POST", path("/stdin"), { pid: shell.pid, data: "echo after-$((2+3))\r" });
    const after = await seen("after-5");
    expect(after).toContain("after-5");
    // The interrupted line's rest never ran, and the shell was not told it had no job control.
    expect(after).not.toContain("slept-2");
    expect(after).not.toContain("no job control");
    await bay.request("POST", path("/stdin"), { pid: shell.pid, data: "exit 7\r" });
    expect(await wait(shell.pid)).toMatchObject({ running: false, exit_code: 7 });
  });

  test("a signal to a terminal's process reaches its whole group: what it started in the background goes too", async () => {
    const process = await start({ command: "sleep 301 & echo $! > /tmp/pty-child; wait", pty: { cols: 80, rows: 24 } });
    const childAlive = async () =>
      (await bay.request("POST", `/v1/sandboxes/${sandbox.id}/shell/exec`, { command: "test -s /tmp/pty-child && kill -0 $(cat /tmp/pty-child) 2>/dev/null && echo alive || echo gone" })).body.output;
    for (let i = 0; i < 50 && (await childAlive()) !== "alive\n"; i++) await Bun.sleep(100);
    expect(await childAlive()).toBe("alive\n");
    expect((await bay.request("POST", path("/signal"), { pid: process.pid, signal: "SIGTERM" })).status).toBe(200);
    expect(await wait(process.pid)).toMatchObject({ running: false });
    for (let i = 0; i < 50 && (await childAlive()) !== "gone\n"; i++) await Bun.sleep(100);
    expect(await childAlive()).toBe("gone\n");
  });
});

describe("processes end with the session", () => {
  test("after a stop, nothing is listed and a former pid is not found; neither starts the sandbox again", async () => {
    const process = await start({ command: "sleep 300" });
    expect((await bay.request("POST", `/v1/sandboxes/${sandbox.id}/stop`)).status).toBe(200);
    expect((await bay.request("GET", path(""))).body).toEqual({ items: [] });
    expectErrorShape(await bay.request("GET", path(`/status?pid=${process.pid}`)), 404, "not_found");
    expectErrorShape(await bay.request("POST", path("/signal"), { pid: process.pid, signal: "SIGTERM" }), 404, "not_found");
    const status = await bay.app.handle(
      new Request(`http://localhost${path(`/stream?pid=${process.pid}`)}`, { headers: { authorization: `Bearer ${TEST_API_KEY}` } }),
    );
    expect(status.status).toBe(404);
    expect((await bay.request("GET", `/v1/sandboxes/${sandbox.id}`)).body.status).toBe("idle");
  });
});
