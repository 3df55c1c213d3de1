/**
 * The published SDK as a Node.js or Bun program uses it: installed from its
 * tarball into a fresh project, type-checked there with `tsc --strict`
 * against the package's own declarations, then run under both runtimes
 * against a live `bay serve` (test/e2e/sdk-package.test.ts). Plain
 * node:assert, no test framework: it must run anywhere the package does.
 *   BAY_URL=… BAY_API_KEY=… node scenario.js
 */
import assert from "node:assert/strict";
import { Bay, BayError, type ExecutionEvent, type ProcessRunEvent, type PythonExecResult, type Sandbox } from "bay-sdk";

const url = process.env.BAY_URL;
const apiKey = process.env.BAY_API_KEY;
if (!url || !apiKey) throw new Error("set BAY_URL and BAY_API_KEY");
const bay = new Bay({ url, apiKey });
let checks = 0;

async function check(name: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
    checks++;
  } catch (error) {
    console.error(`FAILED: ${name}`);
    throw error;
  }
}

async function rejection(promise: Promise<unknown>): Promise<BayError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof BayError, `expected a BayError, got ${String(error)}`);
    return error;
  }
  throw new assert.AssertionError({ message: "expected the call to fail" });
}

async function drain<Event>(events: AsyncGenerator<Event>): Promise<Event[]> {
  const seen: Event[] = [];
  for await (const event of events) seen.push(event);
  return seen;
}

// The declarations are real types, not `any`: each line below must not compile.
function typeErrors(sandbox: Sandbox): void {
  // @ts-expect-error code is a string
  void bay.python.exec(sandbox.id, { code: 1 });
  // @ts-expect-error status is one of the contract's values
  const status: "running" = sandbox.status;
  // @ts-expect-error only named signals
  void bay.processes.signal(sandbox.id, 1, "SIGBOGUS");
  void status;
}
void typeErrors;

let sandbox!: Sandbox;

await check("health and profiles", async () => {
  const health = await bay.health();
  assert.equal(health.status, "ok");
  assert.match(health.version, /^\d+\.\d+\.\d+/);
  const profiles = await bay.profiles();
  assert.ok(profiles.items.some((profile) => profile.id === "python-default"));
});

await check("create, get, list, extend", async () => {
  sandbox = await bay.sandboxes.create({ ttl: 600, metadata: { from: "sdk-package" } });
  assert.equal((await bay.sandboxes.get(sandbox.id)).id, sandbox.id);
  const listed = await bay.sandboxes.listAll({ metadata: "from=sdk-package" });
  assert.deepEqual(
    listed.map((item) => item.id),
    [sandbox.id],
  );
  const extended = await bay.sandboxes.extendTtl(sandbox.id, 600);
  assert.ok(Date.parse(extended.expires_at ?? "") > Date.parse(sandbox.expires_at ?? ""));
});

await check("python keeps its state between calls", async () => {
  await bay.python.exec(sandbox.id, { code: "x = 6" });
  const result: PythonExecResult = await bay.python.exec(sandbox.id, { code: "print(x * 7)" });
  assert.equal(result.success, true);
  assert.equal(result.output, "42\n");
  const failed = await bay.python.exec(sandbox.id, { code: "1/0" });
  assert.equal(failed.success, false);
  assert.match(failed.error ?? "", /ZeroDivisionError/);
});

await check("streamed output arrives before done", async () => {
  const events: ExecutionEvent<PythonExecResult>[] = await drain(
    bay.python.stream(sandbox.id, { code: "import time\nprint('a', flush=True)\ntime.sleep(0.5)\nprint('b')" }),
  );
  const stdout = events.flatMap((event) => (event.event === "stdout" ? [event.data.text] : []));
  assert.equal(stdout.join(""), "a\nb\n");
  const done = events.at(-1);
  assert.equal(done?.event, "done");
  if (done?.event === "done") assert.equal(done.data.output, "a\nb\n");
  const shell = await drain(bay.shell.stream(sandbox.id, { command: "echo one; echo two" }));
  assert.ok(shell.some((event) => event.event === "stdout" && event.data.text.includes("one")));
});

await check("shell: output, errors and exit codes", async () => {
  const result = await bay.shell.exec(sandbox.id, { command: "echo out; echo err >&2; exit 3" });
  assert.equal(result.output, "out\n");
  assert.equal(result.error, "err\n");
  assert.equal(result.exit_code, 3);
});

await check("files: write, read, list, stat, upload, download, move, delete", async () => {
  await bay.files.write(sandbox.id, "notes/a.txt", "hello");
  assert.equal(await bay.files.read(sandbox.id, "notes/a.txt"), "hello");
  assert.deepEqual(
    (await bay.files.list(sandbox.id, "notes")).map((entry) => entry.name),
    ["a.txt"],
  );
  assert.equal((await bay.files.stat(sandbox.id, "notes/a.txt")).size, 5);
  const bytes = new Uint8Array(256).map((_, index) => index);
  assert.equal((await bay.files.upload(sandbox.id, "notes/all-bytes.bin", bytes)).size, 256);
  assert.deepEqual(await bay.files.download(sandbox.id, "notes/all-bytes.bin"), bytes);
  await bay.files.move(sandbox.id, "notes/a.txt", "notes/b.txt");
  await bay.files.delete(sandbox.id, "notes/b.txt");
  assert.equal((await rejection(bay.files.read(sandbox.id, "notes/b.txt"))).code, "file_not_found");
});

await check("processes: start, stdin, wait, output; a followed run", async () => {
  const started = await bay.processes.start(sandbox.id, { command: "read line; echo got $line", stdin: true });
  await bay.processes.writeStdin(sandbox.id, started.pid, "ping\n");
  const ended = await bay.processes.wait(sandbox.id, started.pid, 30);
  assert.equal(ended.exit_code, 0);
  const output = await bay.processes.output(sandbox.id, started.pid);
  assert.equal(output.chunks.map((chunk) => chunk.data).join(""), "got ping\n");
  const run: ProcessRunEvent[] = await drain(bay.processes.run(sandbox.id, { command: "echo followed; exit 4" }));
  assert.equal(run[0]?.event, "start");
  const exit = run.at(-1);
  assert.ok(exit?.event === "exit" && exit.data.exit_code === 4);
});

await check("errors carry the contract's code and status", async () => {
  const missing = await rejection(bay.sandboxes.get("sandbox-that-does-not-exist"));
  assert.equal(missing.code, "not_found");
  assert.equal(missing.status, 404);
  assert.equal(typeof missing.details.request_id, "string");
  const stranger = await rejection(new Bay({ url, apiKey: "not-the-key" }).sandboxes.list());
  assert.equal(stranger.code, "unauthorized");
  // Retries wait between attempts (the SDK's own timer, not a runtime's), then give up with driver_unavailable.
  const unreachable = await rejection(new Bay({ url: "http://127.0.0.1:1", attempts: 2 }).sandboxes.list());
  assert.equal(unreachable.code, "driver_unavailable");
});

await check("cargos, stop and delete", async () => {
  const cargo = await bay.cargos.create({ size_limit_mb: 64 });
  assert.ok((await bay.cargos.listAll()).some((item) => item.id === cargo.id));
  await bay.cargos.delete(cargo.id);
  assert.equal((await bay.sandboxes.stop(sandbox.id)).status, "stopped");
  await bay.sandboxes.delete(sandbox.id);
  assert.equal((await rejection(bay.sandboxes.get(sandbox.id))).code, "not_found");
});

console.log(`sdk scenario: ${checks} checks passed`);
