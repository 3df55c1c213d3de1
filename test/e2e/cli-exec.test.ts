/**
 * Issue 7, item 2: `bay exec` as a shell script meets it — the compiled
 * binary, run as a child process, in a fresh sandbox that is a real
 * container. Every behaviour runs in three ways: embedded (the core inside
 * the bay process, on its own data dir), against a daemon named with --url
 * and --api-key, and against a daemon named with BAY_URL and BAY_API_KEY.
 *
 * Exit statuses: the command's own; 124 timeout; 125 Bay's own failure;
 * 130 interrupted. After every run that does not ask to keep its sandbox,
 * no container and no volume of the instance may remain (checked with the
 * docker CLI).
 */
import { afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { Subprocess } from "bun";
import { containersWithLabel, inspectContainer, removeInstanceObjects, volumesWithLabel } from "../helpers/docker.ts";
import { startServeProcess } from "../helpers/serve-process.ts";
import { cliResources, runBay, spawnBay } from "../helpers/cli.ts";

// Real containers start here; no test asserts speed, only exit statuses and order.
setDefaultTimeout(120_000);

const EXIT_TIMEOUT = 124;
const EXIT_BAY_FAILURE = 125;
const EXIT_INTERRUPTED = 130;
const SANDBOX_ID = /^sandbox-[0-9a-f]{12}$/;
const DAEMON_KEY = "cli-exec-key-0123456789abcdef";

// ---------------------------------------------------------------- resources

const { scratchDir, newInstance, track } = cliResources("bay-cli-exec");

const labelOf = (instanceId: string) => `bay.instance_id=${instanceId}`;

// ---------------------------------------------------------------- modes

const MODES = ["embedded", "daemon via --url and --api-key", "daemon via BAY_URL and BAY_API_KEY"] as const;
type ModeKind = (typeof MODES)[number];

interface Mode {
  /** Connection flags, placed right after the command's name. */
  flags: string[];
  /** The environment of every bay client process. */
  env: Record<string, string>;
  /** The label of the engine objects of this mode's sandboxes. */
  label: string;
  /** Every instance involved; after a run nothing may remain of any of them. */
  instanceIds: string[];
}

/**
 * In daemon modes the client gets a data dir and instance id different from
 * the daemon's: were it to run embedded by mistake, its sandboxes would carry
 * the wrong label and the tests would notice.
 */
async function setUpMode(kind: ModeKind): Promise<Mode> {
  const client = newInstance();
  if (kind === "embedded") return { flags: [], env: client.env, label: labelOf(client.instanceId), instanceIds: [client.instanceId] };
  const server = newInstance();
  const daemon = track(await startServeProcess({ ...server.env, BAY_API_KEY: DAEMON_KEY }));
  const common = { label: labelOf(server.instanceId), instanceIds: [server.instanceId, client.instanceId] };
  if (kind === "daemon via --url and --api-key") {
    return { ...common, flags: ["--url", daemon.url, "--api-key", DAEMON_KEY], env: client.env };
  }
  return { ...common, flags: [], env: { ...client.env, BAY_URL: daemon.url, BAY_API_KEY: DAEMON_KEY } };
}

// ---------------------------------------------------------------- processes


/** The exit status, or a description of the process still running after `ms` (then killed). */
async function exitStatusWithin(child: Subprocess, ms: number): Promise<number | string> {
  const timer = Bun.sleep(ms).then(() => `still running ${ms} ms later` as const);
  const outcome = await Promise.race([child.exited, timer]);
  if (typeof outcome === "string") child.kill("SIGKILL");
  return outcome;
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(100);
  }
}

/** Whether a process with this command line runs in a container (docker top, not Bay). */
function containerRuns(container: string, commandLine: string): boolean {
  const top = Bun.spawnSync(["docker", "top", container], { stdout: "pipe", stderr: "ignore" });
  return top.exitCode === 0 && top.stdout.toString().includes(commandLine);
}

/** Against a daemon, bay exec's delete answers before the teardown ends (Prefer: respond-async): it is given a moment. */
async function expectNothingLeft(mode: Mode): Promise<void> {
  for (const label of mode.instanceIds.map(labelOf)) {
    const left = () => ({ label, containers: containersWithLabel(label), volumes: volumesWithLabel(label) });
    for (let i = 0; i < 100 && (left().containers.length > 0 || left().volumes.length > 0); i++) await Bun.sleep(100);
    expect(left()).toEqual({ label, containers: [], volumes: [] });
  }
}

// ---------------------------------------------------------------- tests

describe.each(MODES)("bay exec, %s", (kind) => {
  let mode: Mode;
  let workDir: string;

  beforeAll(async () => {
    mode = await setUpMode(kind);
    workDir = scratchDir("bay-cli-exec-work-");
  });

  // One test's leftovers must not fail the next one's check.
  afterEach(async () => {
    for (const instanceId of mode.instanceIds) await removeInstanceObjects(instanceId);
  });

  const exec = (args: string[], options: { stdin?: string } = {}) => runBay(["exec", ...mode.flags, ...args], mode.env, { ...options, cwd: workDir });
  /** `bay WORDS... [connection flags] ARGS...`, for the client commands a test needs. */
  const bay = (words: string[], ...args: string[]) => runBay([...words, ...mode.flags, ...args], mode.env, { cwd: workDir });

  describe("exit statuses and output", () => {
    test("python -c prints to stdout and exits 0", async () => {
      expect(await exec(["python", "-c", "print(1)"])).toEqual({ exitCode: 0, stdout: "1\n", stderr: "" });
      await expectNothingLeft(mode);
    });

    test("a Python exception exits 1 with the traceback on stderr", async () => {
      const run = await exec(["python", "-c", "raise ValueError('boom')"]);
      expect(run.exitCode).toBe(1);
      expect(run.stdout).toBe("");
      expect(run.stderr).toContain("Traceback (most recent call last)");
      expect(run.stderr).toContain("ValueError: boom");
      await expectNothingLeft(mode);
    });

    test("a shell command's stdout and stderr stay apart and its exit code is passed through", async () => {
      expect(await exec(["sh", "-c", "echo out; echo err >&2; exit 7"])).toEqual({ exitCode: 7, stdout: "out\n", stderr: "err\n" });
      await expectNothingLeft(mode);
    });

    test("--timeout ends the command with 124", async () => {
      const run = await exec(["--timeout", "1", "sleep", "10"]);
      expect(run.exitCode).toBe(EXIT_TIMEOUT);
      await expectNothingLeft(mode);
    });

    test("output streams live: the first line is read before the second is printed", async () => {
      const child = spawnBay(["exec", ...mode.flags, "sh", "-c", "echo first; sleep 1.5; echo second"], mode.env, workDir);
      await child.stdin.end();
      const stderr = new Response(child.stderr).text();
      const decoder = new TextDecoder();
      let received = "";
      let firstAt: number | undefined;
      let secondAt: number | undefined;
      for await (const chunk of child.stdout) {
        received += decoder.decode(chunk, { stream: true });
        if (firstAt === undefined && received.includes("first\n")) firstAt = performance.now();
        if (secondAt === undefined && received.includes("second\n")) secondAt = performance.now();
      }
      expect(await child.exited).toBe(0);
      expect(await stderr).toBe("");
      expect(received).toBe("first\nsecond\n");
      // Buffered output would deliver both lines at once.
      expect(secondAt! - firstAt!).toBeGreaterThan(1000);
    });
  });

  describe("code from a file and from stdin", () => {
    test("python FILE uploads the local file and runs it with its arguments", async () => {
      writeFileSync(join(workDir, "script.py"), "import sys\nprint(sys.argv[1:])\n");
      expect(await exec(["python", "script.py", "a", "b c"])).toEqual({ exitCode: 0, stdout: "['a', 'b c']\n", stderr: "" });
      await expectNothingLeft(mode);
    });

    test("python - runs what arrives on stdin", async () => {
      expect(await exec(["python", "-"], { stdin: "print(6*7)\n" })).toEqual({ exitCode: 0, stdout: "42\n", stderr: "" });
      await expectNothingLeft(mode);
    });
  });

  describe("options", () => {
    test("--env K=V sets a variable for the command", async () => {
      const run = await exec(["--env", "GREETING=hello world", "-e", "OTHER=2", "sh", "-c", 'echo "$GREETING $OTHER"']);
      expect(run).toEqual({ exitCode: 0, stdout: "hello world 2\n", stderr: "" });
    });

    test("--profile with a known profile runs; an unknown one is Bay's failure (125) with a clear message", async () => {
      expect((await exec(["--profile", "python-default", "python", "-c", "print('ok')"])).stdout).toBe("ok\n");
      const run = await exec(["--profile", "no-such-profile", "python", "-c", "print(1)"]);
      expect(run.exitCode).toBe(EXIT_BAY_FAILURE);
      expect(run.stdout).toBe("");
      expect(run.stderr).toContain('unknown profile "no-such-profile"');
      await expectNothingLeft(mode);
    });

    test("--cp LOCAL:REMOTE puts the file where the command sees it", async () => {
      writeFileSync(join(workDir, "input.txt"), "from the host\n");
      const run = await exec(["--cp", "input.txt:data/input.txt", "cat", "data/input.txt"]);
      expect(run).toEqual({ exitCode: 0, stdout: "from the host\n", stderr: "" });
      await expectNothingLeft(mode);
    });

    test("--cp of a missing local file is Bay's failure (125) and removes the sandbox", async () => {
      const run = await exec(["--cp", "no-such-file.txt:x.txt", "true"]);
      expect(run.exitCode).toBe(EXIT_BAY_FAILURE);
      expect(run.stderr).toContain("no-such-file.txt");
      await expectNothingLeft(mode);
    });

    test("--out REMOTE:LOCAL writes the sandbox's file locally after the command", async () => {
      const local = join(workDir, `result-${randomBytes(3).toString("hex")}.txt`);
      const run = await exec(["--out", `result.txt:${local}`, "sh", "-c", "echo made in the sandbox > result.txt"]);
      expect(run.exitCode).toBe(0);
      expect(readFileSync(local, "utf8")).toBe("made in the sandbox\n");
      await expectNothingLeft(mode);
    });

    test("--keep keeps the sandbox and prints its id on stderr", async () => {
      const run = await exec(["--keep", "python", "-c", "print(2)"]);
      expect(run.exitCode).toBe(0);
      expect(run.stdout).toBe("2\n");
      const id = run.stderr.trim();
      expect(id).toMatch(SANDBOX_ID);
      expect(containersWithLabel(`bay.sandbox_id=${id}`)).toHaveLength(1);
      expect(containersWithLabel(mode.label)).toHaveLength(1);
      const got = await bay(["sandbox", "get"], "--json", id);
      expect(got.exitCode).toBe(0);
      expect(JSON.parse(got.stdout)).toMatchObject({ id });
      expect((await bay(["sandbox", "rm"], id)).exitCode).toBe(0);
      await expectNothingLeft(mode);
    });

    test("--keep prints the id also when Bay fails after creating the sandbox", async () => {
      const run = await exec(["--keep", "--out", "never-written.txt:out.txt", "true"]);
      expect(run.exitCode).toBe(EXIT_BAY_FAILURE);
      expect(run.stderr).toContain("never-written.txt");
      // The sandbox is kept, so its id is the only way to find it again.
      const kept = containersWithLabel(mode.label).map((name) => inspectContainer(name).Config.Labels["bay.sandbox_id"]);
      expect(kept).toHaveLength(1);
      expect(run.stderr.split("\n")).toContain(kept[0]);
    });

    test("--sandbox ID runs in that sandbox and leaves it alone", async () => {
      const created = await bay(["sandbox", "create"]);
      expect(created.exitCode).toBe(0);
      const id = created.stdout.trim();
      expect(await exec(["--sandbox", id, "sh", "-c", "echo kept > note.txt"])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
      expect(await exec(["--sandbox", id, "cat", "note.txt"])).toEqual({ exitCode: 0, stdout: "kept\n", stderr: "" });
      const got = await bay(["sandbox", "get"], "--json", id);
      expect(got.exitCode).toBe(0);
      expect(JSON.parse(got.stdout)).toMatchObject({ id, status: "ready" });
      expect(containersWithLabel(`bay.sandbox_id=${id}`)).toHaveLength(1);
      expect((await bay(["sandbox", "rm"], id)).exitCode).toBe(0);
      await expectNothingLeft(mode);
    });

    test.if(kind !== "embedded")("a key the daemon does not know is Bay's failure (125)", async () => {
      const run = await exec(["--api-key", "not-a-known-key-0123456789", "true"]);
      expect(run.exitCode).toBe(EXIT_BAY_FAILURE);
      expect(run.stderr).toMatch(/^bay exec: \w+/);
      await expectNothingLeft(mode);
    });

    test.if(kind === "embedded")("a bad configuration value is Bay's failure (125) with a message naming the key", async () => {
      const run = await runBay(["exec", "true"], { ...mode.env, BAY_SERVER__PORT: "not-a-port" });
      expect(run.exitCode).toBe(EXIT_BAY_FAILURE);
      expect(run.stderr).toBe('bay exec: invalid configuration at "server.port": Expected integer (got "not-a-port")\n');
      await expectNothingLeft(mode);
    });
  });

  describe("usage errors are Bay's failure (125) with a message", () => {
    test.each([
      [["--bogus", "true"], "unknown option --bogus"],
      [[], "no command given"],
      [["--timeout", "5"], "no command given"],
      [["--timeout", "soon", "true"], "--timeout takes whole seconds"],
      [["--env", "NO_EQUALS_SIGN", "true"], "--env takes KEY=VALUE"],
      [["--cp", "only-local", "true"], "--cp takes LOCAL:REMOTE"],
    ])("bay exec %j", async (args, message) => {
      const run = await exec(args);
      expect(run.exitCode).toBe(EXIT_BAY_FAILURE);
      expect(run.stdout).toBe("");
      expect(run.stderr).toContain(message);
      await expectNothingLeft(mode);
    });
  });

  test("Ctrl-C: SIGINT exits 130 promptly and removes the run's container and volume", async () => {
    const child = spawnBay(["exec", ...mode.flags, "sh", "-c", "sleep 60"], mode.env, workDir);
    await child.stdin.end();
    const stderr = new Response(child.stderr).text();
    await waitFor(() => containersWithLabel(mode.label).some((name) => containerRuns(name, "sleep 60")), 60_000, "sleep 60 to run in a sandbox");
    child.kill("SIGINT");
    expect(await exitStatusWithin(child, 10_000)).toBe(EXIT_INTERRUPTED);
    expect(await stderr).not.toContain("bay exec:");
    expectNothingLeft(mode);
  });
});
