/**
 * `bay attach`, driven as a person would: the compiled binary in a tmux
 * window (a real terminal), keys sent with `tmux send-keys`, the screen read
 * with `tmux capture-pane`, against a real `bay serve` and sandbox.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { BAY_BINARY } from "../helpers/env.ts";
import { useServeProcess } from "../helpers/serve-process.ts";

// A real container and terminal; waits are for text on the screen, never asserted as speed.
setDefaultTimeout(120_000);

const API_KEY = "attach-key-0123456789abcdef";
const server = useServeProcess({ BAY_API_KEY: API_KEY });
const sessions: string[] = [];

afterAll(() => {
  for (const session of sessions) Bun.spawnSync(["tmux", "kill-session", "-t", session]);
});

async function newSandbox(): Promise<string> {
  const response = await fetch(`${server.url}/v1/sandboxes`, { method: "POST", headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" }, body: "{}" });
  return ((await response.json()) as { id: string }).id;
}

const tmux = (...args: string[]) => {
  const result = Bun.spawnSync(["tmux", ...args], { stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`tmux ${args.join(" ")}: ${result.stderr.toString()}`);
  return result.stdout.toString();
};

/** `bay attach` in a new tmux window of 100 × 30; after it ends the window says its exit status and stays. */
function attachInTmux(id: string, command?: string) {
  const session = `bay-attach-${randomBytes(3).toString("hex")}`;
  sessions.push(session);
  const attach = [BAY_BINARY, "attach", "--url", server.url, "--api-key", API_KEY, id, ...(command ? [command] : [])].map((word) => `'${word}'`).join(" ");
  tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "30", `${attach}; echo EXIT=$?; sleep 600`);
  const screen = () => tmux("capture-pane", "-p", "-t", session, "-S", "-100");
  return {
    screen,
    keys: (...keys: string[]) => tmux("send-keys", "-t", session, ...keys),
    resize: (cols: number, rows: number) => tmux("resize-window", "-t", session, "-x", String(cols), "-y", String(rows)),
    async shows(needle: string | RegExp): Promise<string> {
      for (let waited = 0; waited < 60_000; waited += 100) {
        const text = screen();
        if (typeof needle === "string" ? text.includes(needle) : needle.test(text)) return text;
        await Bun.sleep(100);
      }
      throw new Error(`the screen never showed ${needle}:\n${screen()}`);
    },
  };
}

describe("bay attach", () => {
  test("a login shell in the sandbox: typing, the terminal's size and its changes, Ctrl-C, Ctrl-D", async () => {
    const terminal = attachInTmux(await newSandbox());
    await terminal.shows(/\$\s*$/m);
    terminal.keys("echo hello-$((6*7))", "Enter");
    await terminal.shows("hello-42");
    terminal.keys("stty size", "Enter");
    await terminal.shows("30 100");
    terminal.resize(120, 40);
    await Bun.sleep(500);
    terminal.keys("clear; stty size", "Enter");
    await terminal.shows("40 120");
    // Ctrl-C interrupts the foreground program, as in a local shell, and the shell lives on.
    terminal.keys("sleep 300; echo slept-$((1+1))", "Enter");
    await terminal.shows("sleep 300");
    await Bun.sleep(500);
    terminal.keys("C-c");
    terminal.keys("echo after-$((2+3))", "Enter");
    const afterInterrupt = await terminal.shows("after-5");
    expect(afterInterrupt).not.toContain("slept-2");
    expect(afterInterrupt).not.toContain("no job control");
    // Ctrl-D ends the shell, and with it bay attach, with the shell's status.
    terminal.keys("C-d");
    await terminal.shows("EXIT=0");
  });

  test("a command instead of the shell: its exit status is bay attach's", async () => {
    const terminal = attachInTmux(await newSandbox(), "echo in-$((3*3)); exit 3");
    const screen = await terminal.shows("EXIT=");
    expect(screen).toContain("in-9");
    expect(screen).toContain("EXIT=3");
  });

  test("without a terminal it says so and exits 1, starting nothing", async () => {
    const id = await newSandbox();
    const run = Bun.spawnSync([BAY_BINARY, "attach", "--url", server.url, "--api-key", API_KEY, id], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    expect(run.exitCode).toBe(1);
    expect(run.stderr.toString()).toContain("bay attach needs a terminal");
    const processes = await fetch(`${server.url}/v1/sandboxes/${id}`, { headers: { authorization: `Bearer ${API_KEY}` } });
    expect(((await processes.json()) as { status: string }).status).not.toBe("ready");
  });
});
