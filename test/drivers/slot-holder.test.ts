/**
 * The native network slot holder (drivers/docker/slot-holder.c), as built
 * into dist/ with the binary, run for real in a network namespace of the
 * test's own (`ip netns`), with real sockets standing in for a sandbox's
 * agent. The rules are those of `bay hold` (test/unit/network-holder.test.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import "../helpers/engine-ready.ts";
import { SLOT_HOLDER_BINARY as HOLDER } from "../helpers/env.ts";
import { holderProgram, SLOT_HOLDER_PATH_IN_CONTAINER } from "../../drivers/docker/slot-holder.ts";

const NAMESPACE = `bays-${randomBytes(3).toString("hex")}`;
const PORT = 8123;
/** Looks this often here (5 s and 10 s in a container), so that each rule shows within a second or two. */
const FAST = ["--probe-ms", "100", "--claimed-probe-ms", "100"];

const inNamespace = (command: string[]) => ["ip", "netns", "exec", NAMESPACE, ...command];
let socketDir: string;

beforeAll(() => {
  expect(Bun.spawnSync(["ip", "netns", "add", NAMESPACE]).exitCode).toBe(0);
  expect(Bun.spawnSync(inNamespace(["ip", "link", "set", "lo", "up"])).exitCode).toBe(0);
  socketDir = mkdtempSync(join(tmpdir(), "bay-slot-holder-"));
});

afterAll(() => {
  Bun.spawnSync(["ip", "netns", "del", NAMESPACE]);
  rmSync(socketDir, { recursive: true, force: true });
});

interface Running {
  process: Bun.Subprocess<"ignore", "pipe", "pipe">;
  /** Whether it is still running this long from now. */
  aliveAfter(ms: number): Promise<boolean>;
  /** Its exit code and what it printed, once it has ended. */
  ended(): Promise<{ code: number; stdout: string; stderr: string }>;
}

function run(command: string[]): Running {
  const child = Bun.spawn(command, { stdout: "pipe", stderr: "pipe" });
  return {
    process: child,
    async aliveAfter(ms) {
      return (await Promise.race([child.exited.then(() => false), Bun.sleep(ms).then(() => true)])) as boolean;
    },
    async ended() {
      const code = await child.exited;
      return { code, stdout: await new Response(child.stdout).text(), stderr: await new Response(child.stderr).text() };
    },
  };
}

const holder = (...args: string[]) => run(inNamespace([HOLDER, ...args]));

/** A stand-in for a sandbox's agent, listening in the namespace until killed. */
type ListenAddress = { hostname: string; port: number } | { unix: string };

async function listener(address: ListenAddress): Promise<Bun.Subprocess> {
  const script = `Bun.listen({ ...${JSON.stringify(address)}, socket: { data() {} } }); console.log("listening"); setInterval(() => {}, 1000);`;
  const child = Bun.spawn(inNamespace([process.execPath, "-e", script]), { stdout: "pipe", stderr: "inherit" });
  const first = await child.stdout.getReader().read();
  expect(new TextDecoder().decode(first.value)).toContain("listening");
  return child;
}

async function stop(child: Bun.Subprocess): Promise<void> {
  child.kill();
  await child.exited;
}

/** With a holder of a 1 s ready lifetime watching `agent`: it holds on past that while a socket listens there, and ends once it is gone. */
async function expectHeldWhileListening(address: ListenAddress, agent: string[]): Promise<void> {
  const listening = await listener(address);
  const held = holder("--ready-seconds", "1", ...agent, ...FAST);
  try {
    expect(await held.aliveAfter(2500)).toBe(true);
  } finally {
    await stop(listening);
  }
  expect(await held.ended()).toMatchObject({ code: 0, stdout: "slot-holder: done, its sandbox ended\n" });
}

/** A socket at `address` is not the agent: a holder watching `agent` beside it ends unclaimed. */
async function expectUnclaimedBeside(address: ListenAddress, agent: string[]): Promise<void> {
  const other = await listener(address);
  try {
    expect(await holder("--ready-seconds", "1", ...agent, ...FAST).ended()).toMatchObject({ code: 0, stdout: "slot-holder: done, never claimed\n" });
  } finally {
    await stop(other);
  }
}

describe("the native slot holder", () => {
  test("is built with the binary, and is small (a static program, no runtime)", () => {
    const size = Bun.file(HOLDER).size;
    expect(size).toBeGreaterThan(0);
    expect(size).toBeLessThan(4 * 1024 * 1024);
  });

  test("refuses arguments that would make a holder that never ends or watches nothing", async () => {
    for (const args of [[], ["--agent-port", "8123"], ["--ready-seconds", "0", "--agent-port", "8123"], ["--ready-seconds", "60"],
      ["--ready-seconds", "60", "--agent-port", "70000"], ["--ready-seconds", "60", "--agent-port", "8123x"], ["--ready-seconds", "60", "--agent-port"],
      ["--ready-seconds", "60", "--agent-socket", ""], ["--ready-seconds", "60", "--agent-port", "8123", "--probe-ms", "0"], ["--ready-seconds", "60", "--forever", "1"]]) {
      const result = await holder(...args).ended();
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stderr).toContain("usage: slot-holder");
    }
  });

  test("unclaimed: ends after its ready lifetime", async () => {
    const result = await holder("--ready-seconds", "1", "--agent-port", String(PORT), ...FAST).ended();
    expect(result).toMatchObject({ code: 0, stdout: "slot-holder: done, never claimed\n" });
  });

  test("claimed over TCP: holds on past its ready lifetime while the agent listens, ends once it stops", async () => {
    await expectHeldWhileListening({ hostname: "0.0.0.0", port: PORT }, ["--agent-port", String(PORT)]);
  });

  test("an agent listening on IPv6 counts; a socket on another port does not", async () => {
    await expectUnclaimedBeside({ hostname: "::", port: PORT + 1 }, ["--agent-port", String(PORT)]);
    await expectHeldWhileListening({ hostname: "::", port: PORT }, ["--agent-port", String(PORT)]);
  });

  test("claimed over a unix socket: the same, for sandboxes without network; a path that only starts the same does not count", async () => {
    const path = join(socketDir, "agent.sock");
    await expectUnclaimedBeside({ unix: `${path}.old` }, ["--agent-socket", path]);
    await expectHeldWhileListening({ unix: path }, ["--agent-socket", path]);
  });

  test("SIGTERM ends it at once (as PID 1 in its container it must say so itself)", async () => {
    const held = holder("--ready-seconds", "600", "--agent-port", String(PORT));
    expect(await held.aliveAfter(300)).toBe(true);
    held.process.kill("SIGTERM");
    expect(await Promise.race([held.process.exited, Bun.sleep(3000).then(() => "still running")])).toBe(0);
  });
});

describe("what a holder container runs", () => {
  test("the native holder where the build carries one, else the agent binary's `bay hold`", () => {
    expect(holderProgram("/data/agent/slot-holder-abc", "/usr/local/bin/bay", "/opt/bay/bay")).toEqual({
      bind: `/data/agent/slot-holder-abc:${SLOT_HOLDER_PATH_IN_CONTAINER}:ro`,
      entrypoint: [SLOT_HOLDER_PATH_IN_CONTAINER],
      env: [],
    });
    expect(holderProgram(null, "/usr/local/bin/bay", "/opt/bay/bay")).toMatchObject({
      bind: "/usr/local/bin/bay:/opt/bay/bay:ro",
      entrypoint: ["/opt/bay/bay", "hold"],
    });
  });
});
