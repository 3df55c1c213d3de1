/**
 * Issue 7, item 3: the client commands of the compiled binary — `bay sandbox
 * ls|create|get|stop|rm`, `bay cargo ls|create|rm`, `bay python`, `bay
 * shell`, `bay cp`, `bay gc` — run as child processes against real
 * containers, embedded (the core inside each bay process, state kept in its
 * data dir between invocations) and against a daemon (--url, --api-key).
 * `--json` answers carry the API's field names; without it, tables start
 * with a header of the column names; a Bay error is exit 1 with its code on
 * stderr.
 */
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createHash, randomBytes } from "node:crypto";
import { containersWithLabel, runningContainersWithLabel, volumesWithLabel } from "../helpers/docker.ts";
import { startServeProcess } from "../helpers/serve-process.ts";
import { cliResources, runBay } from "../helpers/cli.ts";

// Real containers start here; no test asserts speed.
setDefaultTimeout(120_000);

const SANDBOX_ID = /^sandbox-[0-9a-f]{12}$/;
const CARGO_ID = /^ws-[0-9a-f]{12}$/;
const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const DAEMON_KEY = "cli-commands-key-0123456789abcdef";
const GC_TASKS = ["idle_sessions", "expired_sandboxes", "lost_sessions", "orphan_containers", "orphan_session_directories", "orphan_cargos", "cargo_size_limits", "expired_idempotency_keys"];

// ---------------------------------------------------------------- resources

const { scratchDir, newInstance, track } = cliResources("bay-cli-commands");

// ---------------------------------------------------------------- modes

const MODES = ["embedded", "daemon"] as const;
type ModeKind = (typeof MODES)[number];

interface Mode {
  /** Connection flags, placed after the command's words. */
  flags: string[];
  env: Record<string, string>;
}

/** In daemon mode the client has a data dir of its own, so that an accidental embedded run cannot see the daemon's sandboxes. */
async function setUpMode(kind: ModeKind): Promise<Mode> {
  const client = newInstance().env;
  if (kind === "embedded") return { flags: [], env: client };
  const daemon = track(await startServeProcess({ ...newInstance().env, BAY_API_KEY: DAEMON_KEY }));
  return { flags: ["--url", daemon.url, "--api-key", DAEMON_KEY], env: client };
}

// ---------------------------------------------------------------- processes


/**
 * toMatchObject with asymmetric matchers writes the matchers into the object
 * it was given (bun 1.4.5), so check a copy and keep the answer intact.
 */
function expectShape(value: unknown, shape: Record<string, unknown>): void {
  expect(structuredClone(value)).toMatchObject(shape);
}

/** The words of a table's header line. */
const headerOf = (table: string) => table.split("\n")[0]!.trim().split(/\s+/);

const sandboxLabel = (id: string) => `bay.sandbox_id=${id}`;

// ---------------------------------------------------------------- tests

describe.each(MODES)("client commands, %s", (kind) => {
  let mode: Mode;
  let workDir: string;

  beforeAll(async () => {
    mode = await setUpMode(kind);
    workDir = scratchDir("bay-cli-commands-work-");
  });

  /** `bay WORDS... [connection flags] ARGS...` */
  const bay = (words: string[], ...args: string[]) => runBay([...words, ...mode.flags, ...args], mode.env);

  /** Runs a command that must succeed and parses its --json answer. */
  async function json(words: string[], ...args: string[]): Promise<any> {
    const run = await bay(words, "--json", ...args);
    expect({ exitCode: run.exitCode, stderr: run.stderr }).toEqual({ exitCode: 0, stderr: "" });
    return JSON.parse(run.stdout);
  }

  const createSandbox = async (...args: string[]): Promise<string> => (await json(["sandbox", "create"], ...args)).id;

  describe("bay sandbox", () => {
    test("create --json answers the API's sandbox; get --json and ls --json show the same one", async () => {
      const created = await json(["sandbox", "create"]);
      expectShape(created, {
        id: expect.stringMatching(SANDBOX_ID),
        status: expect.any(String),
        profile: "python-default",
        cargo_id: expect.stringMatching(CARGO_ID),
        capabilities: expect.arrayContaining(["python", "shell", "filesystem"]),
        created_at: expect.stringMatching(TIMESTAMP),
        expires_at: null,
      });
      expect(created).toContainKeys(["idle_expires_at", "state_reset_at", "state_reset_reason"]);

      expect(await json(["sandbox", "get"], created.id)).toMatchObject({ id: created.id, cargo_id: created.cargo_id, profile: "python-default" });
      const listed: any[] = await json(["sandbox", "ls"]);
      expect(listed.find((sandbox) => sandbox.id === created.id)).toMatchObject({ id: created.id, cargo_id: created.cargo_id });
    });

    test("create --ttl sets expires_at; create --cargo attaches that cargo", async () => {
      expect(await json(["sandbox", "create"], "--ttl", "600")).toMatchObject({ expires_at: expect.stringMatching(TIMESTAMP) });
      const cargo = await json(["cargo", "create"]);
      expect(await json(["sandbox", "create"], "--cargo", cargo.id)).toMatchObject({ cargo_id: cargo.id });
    });

    test("without --json: create prints the id alone, ls and get print tables with a header", async () => {
      const created = await bay(["sandbox", "create"]);
      expect(created.exitCode).toBe(0);
      expect(created.stdout).toMatch(/^sandbox-[0-9a-f]{12}\n$/);
      const id = created.stdout.trim();

      const listed = await bay(["sandbox", "ls"]);
      expect(listed.exitCode).toBe(0);
      expect(headerOf(listed.stdout)).toEqual(["ID", "STATUS", "PROFILE", "CARGO_ID", "CREATED_AT", "EXPIRES_AT"]);
      expect(listed.stdout.split("\n").some((line) => line.startsWith(`${id} `))).toBe(true);

      const got = await bay(["sandbox", "get"], id);
      expect(got.exitCode).toBe(0);
      expect(headerOf(got.stdout)).toEqual(["ID", "STATUS", "PROFILE", "CARGO_ID", "CREATED_AT", "EXPIRES_AT", "IDLE_EXPIRES_AT", "STATE_RESET_AT"]);
      expect(got.stdout.split("\n")[1]).toStartWith(`${id} `);
    });

    test("stop ends the compute and keeps the files", async () => {
      const id = await createSandbox();
      expect((await bay(["shell"], id, "echo still here > note.txt")).exitCode).toBe(0);
      expect(runningContainersWithLabel(sandboxLabel(id))).toHaveLength(1);

      expect(await json(["sandbox", "stop"], id)).toEqual({ status: "stopped" });
      expect(runningContainersWithLabel(sandboxLabel(id))).toEqual([]);
      expect((await json(["sandbox", "get"], id)).status).not.toBe("ready");
      // Plain stop prints nothing and is idempotent.
      expect(await bay(["sandbox", "stop"], id)).toEqual({ exitCode: 0, stdout: "", stderr: "" });

      expect(await bay(["shell"], id, "cat note.txt")).toEqual({ exitCode: 0, stdout: "still here\n", stderr: "" });
    });

    test("rm deletes the sandbox, its container and its volume", async () => {
      const id = await createSandbox();
      expect((await bay(["shell"], id, "true")).exitCode).toBe(0);
      expect(containersWithLabel(sandboxLabel(id))).toHaveLength(1);

      expect(await json(["sandbox", "rm"], id)).toEqual({ id, deleted: true });
      expect(containersWithLabel(sandboxLabel(id))).toEqual([]);
      expect(volumesWithLabel(sandboxLabel(id))).toEqual([]);
      const listed: any[] = await json(["sandbox", "ls"]);
      expect(listed.map((sandbox) => sandbox.id)).not.toContain(id);
      expect((await bay(["sandbox", "get"], id)).exitCode).toBe(1);
    });
  });

  describe("bay cargo", () => {
    test("create --json, ls --json and rm --json", async () => {
      const created = await json(["cargo", "create"], "--size", "64");
      expectShape(created, {
        id: expect.stringMatching(CARGO_ID),
        managed: false,
        managed_by_sandbox_id: null,
        size_limit_mb: 64,
        created_at: expect.stringMatching(TIMESTAMP),
        last_accessed_at: expect.stringMatching(TIMESTAMP),
      });
      const listed: any[] = await json(["cargo", "ls"]);
      expect(listed.find((cargo) => cargo.id === created.id)).toEqual(created);

      expect(await json(["cargo", "rm"], created.id)).toEqual({ id: created.id, deleted: true });
      const after: any[] = await json(["cargo", "ls"]);
      expect(after.map((cargo) => cargo.id)).not.toContain(created.id);
    });

    test("ls --managed lists a sandbox's own cargo; ls prints a table with a header", async () => {
      const sandbox = await json(["sandbox", "create"]);
      const managed: any[] = await json(["cargo", "ls"], "--managed");
      expect(managed.find((cargo) => cargo.id === sandbox.cargo_id)).toMatchObject({ managed: true, managed_by_sandbox_id: sandbox.id });

      const table = await bay(["cargo", "ls"]);
      expect(table.exitCode).toBe(0);
      expect(headerOf(table.stdout)).toEqual(["ID", "MANAGED", "MANAGED_BY_SANDBOX_ID", "SIZE_LIMIT_MB", "CREATED_AT"]);
    });
  });

  describe("bay python and bay shell", () => {
    test("python keeps the kernel's state across invocations", async () => {
      const id = await createSandbox();
      expect(await bay(["python"], id, "x = 41")).toEqual({ exitCode: 0, stdout: "", stderr: "" });
      expect(await bay(["python"], id, "x + 1")).toEqual({ exitCode: 0, stdout: "42\n", stderr: "" });
    });

    test("python: an exception exits 1 with the error on stderr; --json answers the API's result", async () => {
      const id = await createSandbox();
      const failed = await bay(["python"], id, "raise ValueError('boom')");
      expect(failed.exitCode).toBe(1);
      expect(failed.stderr).toContain("ValueError");
      expect(await json(["python"], id, "print('hi')")).toMatchObject({ success: true, output: "hi\n" });
    });

    test("shell passes the command's exit code and its two streams through; --json answers the API's result", async () => {
      const id = await createSandbox();
      expect(await bay(["shell"], id, "echo out; echo err >&2; exit 3")).toEqual({ exitCode: 3, stdout: "out\n", stderr: "err\n" });
      expect(await json(["shell"], id, "echo hi")).toMatchObject({ exit_code: 0, output: "hi\n" });
      expect((await bay(["shell"], "--timeout", "1", id, "sleep 10")).exitCode).toBe(124);
    });

    test("BAY_PROGRESS=1 announces a cold start on stderr, leaving stdout to the result", async () => {
      const id = await createSandbox();
      const run = await runBay(["python", ...mode.flags, id, "print(7)"], { ...mode.env, BAY_PROGRESS: "1" });
      expect(run.exitCode).toBe(0);
      expect(run.stdout).toBe("7\n");
      expect(run.stderr).toContain(`starting sandbox ${id}`);
    });
  });

  describe("bay call", () => {
    test("runs any capability's declared operation with its JSON input; a bad input or name is refused before anything runs", async () => {
      const id = await createSandbox();
      expect(JSON.parse((await bay(["call"], id, "filesystem.write", '{"path":"called/a.txt","content":"by call"}')).stdout)).toEqual({ status: "ok" });
      expect(JSON.parse((await bay(["call"], id, "filesystem.read", '{"path":"called/a.txt"}')).stdout)).toEqual({ content: "by call" });
      expect(JSON.parse((await bay(["call"], id, "shell.exec", '{"command":"cat called/a.txt"}')).stdout)).toMatchObject({ exit_code: 0, output: "by call" });
      const bad = await bay(["call"], id, "filesystem.read", '{"path":3}');
      expect(bad.exitCode).toBe(1);
      expect(bad.stderr).toContain("validation_error");
      const unknown = await bay(["call"], id, "nothing.here", "{}");
      expect(unknown.exitCode).toBe(2);
      expect(unknown.stderr).toContain("python.exec");
    });
  });

  describe("bay cp", () => {
    test("copies binary content into a sandbox and back out unchanged", async () => {
      const id = await createSandbox();
      const bytes = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(64 * 1024)]);
      const source = join(workDir, "in.bin");
      const target = join(workDir, "out.bin");
      writeFileSync(source, bytes);

      expect(await json(["cp"], source, `${id}:data/blob.bin`)).toMatchObject({ status: "ok", size: bytes.length });
      const sha256 = createHash("sha256").update(bytes).digest("hex");
      expect((await bay(["shell"], id, "sha256sum data/blob.bin")).stdout).toStartWith(sha256);

      expect(await bay(["cp"], `${id}:data/blob.bin`, target)).toEqual({ exitCode: 0, stdout: "", stderr: "" });
      expect(Buffer.compare(readFileSync(target), bytes)).toBe(0);
    });

    test("two local locations is a Bay error (exit 1, validation_error)", async () => {
      const run = await bay(["cp"], join(workDir, "a"), join(workDir, "b"));
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toContain("validation_error");
    });
  });

  describe("bay gc", () => {
    test("--json reports each task by name; the table has a header", async () => {
      const report = await json(["gc"]);
      expect(report.results.map((result: any) => result.task_name).sort()).toEqual([...GC_TASKS].sort());
      expect(report).toMatchObject({ total_cleaned: expect.any(Number), duration_ms: expect.any(Number) });
      for (const result of report.results) expect(result).toMatchObject({ cleaned_count: expect.any(Number), errors: [] });

      const table = await bay(["gc"]);
      expect(table.exitCode).toBe(0);
      expect(headerOf(table.stdout)).toEqual(["TASK", "CLEANED", "ERRORS"]);
    });
  });

  describe("Bay errors", () => {
    test.each([
      [["sandbox", "get"], ["sandbox-000000000000"]],
      [["sandbox", "rm"], ["sandbox-000000000000"]],
      [["python"], ["sandbox-000000000000", "1"]],
      [["shell"], ["sandbox-000000000000", "true"]],
      [["cargo", "rm"], ["ws-000000000000"]],
    ])("bay %j for something that does not exist: exit 1, not_found on stderr", async (words, args) => {
      const run = await bay(words, ...args);
      expect(run.exitCode).toBe(1);
      expect(run.stdout).toBe("");
      expect(run.stderr).toMatch(/^bay: not_found: /);
    });

    test.if(kind === "embedded")("a bad configuration value is one line naming the key, not a stack trace", async () => {
      const run = await runBay(["sandbox", "ls"], { ...mode.env, BAY_SERVER__PORT: "not-a-port" });
      expect(run.exitCode).not.toBe(0);
      expect(run.stderr.trim().split("\n")).toEqual([expect.stringContaining('invalid configuration at "server.port"')]);
    });
  });
});
