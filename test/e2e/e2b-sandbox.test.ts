/**
 * E2B's SDK inside a sandbox through Bay's front door (envd's protocol on
 * Bay's processes and files): commands in the foreground and background,
 * stdin, kill, connect, a terminal, files and watching, and the per-sandbox
 * access token. A real `bay serve` on Docker, the real `e2b` packages.
 */
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import * as sdk251 from "e2b";
import * as sdk250 from "e2b-2-50";
import { useServeProcess } from "../helpers/serve-process.ts";

// Real containers; nothing here asserts speed.
setDefaultTimeout(120_000);

const API_KEY = "e2b-sandbox-key-0123456789";
const server = useServeProcess({ BAY_E2B__ENABLED: "true", BAY_API_KEY: API_KEY });
const options = () => ({ apiUrl: `${server.url}/e2b`, sandboxUrl: `${server.url}/e2b/sandbox`, apiKey: API_KEY });

let sandbox: sdk251.Sandbox;
beforeAll(async () => {
  sandbox = await sdk251.Sandbox.create(options());
});
// No kill at the end: the serve process's own cleanup (useServeProcess) removes what this file made.

describe("commands", () => {
  test("run in the foreground: output as callbacks and in the result, per-command env and cwd, the exit code", async () => {
    const stdout: string[] = [];
    const stderr: string[] = [];
    const result = await sandbox.commands.run('echo "out $GREETING"; echo err >&2; pwd', {
      envs: { GREETING: "hello" },
      cwd: "/home/user",
      onStdout: (data) => void stdout.push(data),
      onStderr: (data) => void stderr.push(data),
    });
    expect(result).toMatchObject({ exitCode: 0, stdout: "out hello\n/workspace\n", stderr: "err\n" });
    expect(stdout.join("")).toBe("out hello\n/workspace\n");
    expect(stderr.join("")).toBe("err\n");
    const failed = await sandbox.commands.run("echo partial; exit 3").catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(sdk251.CommandExitError);
    expect(failed).toMatchObject({ exitCode: 3, stdout: "partial\n" });
  });

  test("in the background: listed, waited for, connected to from a second handle, killed", async () => {
    const slow = await sandbox.commands.run("sleep 1; echo done", { background: true });
    expect((await sandbox.commands.list()).map((process) => process.pid)).toContain(slow.pid);
    expect((await slow.wait()).stdout).toBe("done\n");

    const ticking = await sandbox.commands.run("for i in 1 2 3 4 5 6 7 8 9 10; do echo tick$i; sleep 0.3; done", { background: true });
    const seen: string[] = [];
    const attached = await sandbox.commands.connect(ticking.pid, { onStdout: (data) => void seen.push(data) });
    await Bun.sleep(800);
    expect(await sandbox.commands.kill(ticking.pid)).toBe(true);
    const ended = await attached.wait().catch((error: unknown) => error);
    expect(ended).toBeInstanceOf(sdk251.CommandExitError);
    expect(seen.join("")).toContain("tick");
    expect(await sandbox.commands.kill(ticking.pid)).toBe(false);
  });

  test("stdin: what is sent reaches the process, and closing it ends the input", async () => {
    const cat = await sandbox.commands.run("cat; echo '[eof]'", { background: true, stdin: true });
    await sandbox.commands.sendStdin(cat.pid, "line one\n");
    await sandbox.commands.sendStdin(cat.pid, "line two\n");
    await sandbox.commands.closeStdin(cat.pid);
    expect((await cat.wait()).stdout).toBe("line one\nline two\n[eof]\n");
  });

  test("a terminal: output as typed, resized, killed", async () => {
    const screen: string[] = [];
    const terminal = await sandbox.pty.create({ cols: 80, rows: 24, onData: (data) => void screen.push(new TextDecoder().decode(data)) });
    await sandbox.pty.sendInput(terminal.pid, new TextEncoder().encode("stty size; echo typed-$((40+2))\n"));
    for (let i = 0; i < 50 && !screen.join("").includes("typed-42"); i++) await Bun.sleep(100);
    expect(screen.join("")).toContain("24 80");
    await sandbox.pty.resize(terminal.pid, { cols: 100, rows: 30 });
    await sandbox.pty.sendInput(terminal.pid, new TextEncoder().encode("stty size\n"));
    for (let i = 0; i < 50 && !screen.join("").includes("30 100"); i++) await Bun.sleep(100);
    expect(screen.join("")).toContain("30 100");
    expect(await sandbox.pty.kill(terminal.pid)).toBe(true);
  });
});

describe("files", () => {
  test("write, read, list, exists, getInfo, makeDir, rename, remove", async () => {
    const written = await sandbox.files.write("/home/user/notes/a.txt", "héllo\n");
    expect(written).toMatchObject({ name: "a.txt", path: "/workspace/notes/a.txt" });
    expect(await sandbox.files.read("/home/user/notes/a.txt")).toBe("héllo\n");
    expect(await sandbox.files.read("notes/a.txt")).toBe("héllo\n");
    await sandbox.files.write([
      { path: "/workspace/notes/b.txt", data: "b" },
      { path: "notes/c.txt", data: new Blob(["c"]) },
    ]);
    expect((await sandbox.files.list("/home/user/notes")).map((entry) => entry.name)).toEqual(["a.txt", "b.txt", "c.txt"]);
    expect(await sandbox.files.exists("notes/b.txt")).toBe(true);
    expect(await sandbox.files.exists("notes/none.txt")).toBe(false);
    const info = await sandbox.files.getInfo("notes/a.txt");
    expect(info).toMatchObject({ name: "a.txt", type: "file", size: 7, owner: "shipyard" });
    expect(await sandbox.files.makeDir("notes/deeper/still")).toBe(true);
    expect(await sandbox.files.makeDir("notes/deeper/still")).toBe(false);
    expect((await sandbox.files.rename("notes/b.txt", "notes/deeper/b.txt")).path).toBe("/workspace/notes/deeper/b.txt");
    await sandbox.files.remove("notes/c.txt");
    expect((await sandbox.files.list("notes", { depth: 3 })).map((entry) => entry.path)).toEqual([
      "/workspace/notes/a.txt",
      "/workspace/notes/deeper",
      "/workspace/notes/deeper/b.txt",
      "/workspace/notes/deeper/still",
    ]);
    await expect(sandbox.files.read("notes/missing.txt")).rejects.toBeInstanceOf(sdk251.FileNotFoundError);
    await expect(sandbox.files.read("/etc/passwd")).rejects.toThrow();
  });

  test("watchDir sees what commands do in the directory, recursively", async () => {
    await sandbox.files.makeDir("watched/sub");
    const events: { name: string; type: string }[] = [];
    const watcher = await sandbox.files.watchDir("watched", (event) => void events.push({ name: event.name, type: event.type }), { recursive: true });
    // Apart in time: a change is told from a check of the path when it is seen (a file made and removed at once reads as two removes).
    await sandbox.commands.run("echo x > watched/new.txt; sleep 0.3; echo y > watched/sub/deep.txt; sleep 0.3; mv watched/sub/deep.txt watched/moved.txt; sleep 0.3; rm watched/new.txt");
    for (let i = 0; i < 50 && !events.some((event) => event.type === "remove"); i++) await Bun.sleep(100);
    await watcher.stop();
    expect(events).toContainEqual({ name: "new.txt", type: "create" });
    expect(events).toContainEqual({ name: "sub/deep.txt", type: "create" });
    expect(events).toContainEqual({ name: "sub/deep.txt", type: "rename" });
    expect(events).toContainEqual({ name: "moved.txt", type: "create" });
    expect(events).toContainEqual({ name: "new.txt", type: "remove" });
  });
});

describe("the access token", () => {
  test("a sandbox's calls need its own token: a wrong one, or another sandbox's, is refused", async () => {
    const other = await sdk251.Sandbox.create(options());
    try {
      const forged = await fetch(`${server.url}/e2b/sandbox/process.Process/List`, {
        method: "POST",
        headers: { "content-type": "application/json", "e2b-sandbox-id": sandbox.sandboxId, "e2b-sandbox-port": "49983", "x-access-token": "not-the-token" },
        body: "{}",
      });
      expect(forged.status).toBe(401);
      expect(((await forged.json()) as { code: string }).code).toBe("unauthenticated");
      const borrowed = await fetch(`${server.url}/e2b/sandbox/process.Process/List`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "e2b-sandbox-id": sandbox.sandboxId,
          "e2b-sandbox-port": "49983",
          // The other sandbox's token, found through its own connect.
          "x-access-token": (await (await fetch(`${server.url}/e2b/v2/sandboxes/${other.sandboxId}/connect`, { method: "POST", headers: { "x-api-key": API_KEY, "content-type": "application/json" }, body: "{}" })).json() as { envdAccessToken: string }).envdAccessToken,
        },
        body: "{}",
      });
      expect(borrowed.status).toBe(401);
      expect(await sandbox.isRunning()).toBe(true);
    } finally {
      await other.kill();
    }
  });
});

describe("e2b 2.50 in the sandbox", () => {
  test("the same protocol: a command and a file", async () => {
    const old = await (sdk250 as unknown as typeof sdk251).Sandbox.create(options());
    try {
      expect((await old.commands.run("echo from-2.50")).stdout).toBe("from-2.50\n");
      await old.files.write("x.txt", "x");
      expect(await old.files.read("x.txt")).toBe("x");
    } finally {
      await old.kill();
    }
  });
});
