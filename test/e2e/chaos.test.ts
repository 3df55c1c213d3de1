/**
 * Issue 5's chaos test: N sandboxes with a file each, then random execs,
 * random `docker kill`s of their containers and one SIGKILL + restart of
 * `bay serve`. At the end every sandbox answers, every file is intact, and
 * after one GC run the engine holds exactly what the database says.
 *
 * The run is seeded; the seed is printed, and BAY_CHAOS_SEED=<seed> replays it.
 */
import { expect, setDefaultTimeout, test } from "bun:test";
import { randomBytes, randomInt } from "node:crypto";
import {
  type Answer,
  cleanUpInstallations,
  containerIds,
  docker,
  engineAndDatabase,
  expectEngineMatchesDatabase,
  Installation,
} from "../helpers/installation.ts";

// Real containers are killed and restarted here; nothing asserts speed.
setDefaultTimeout(120_000);

const SANDBOXES = 4;
const ITERATIONS = 40;
const SEED = Number(process.env.BAY_CHAOS_SEED ?? randomInt(2 ** 31));

cleanUpInstallations();

/** mulberry32: small, seedable, good enough to pick actions reproducibly. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `docker kill` of the sandbox's running container, if it has one; true if something was killed. */
function killContainerOf(installation: Installation, sandboxId: string): boolean {
  const [container] = containerIds([installation.label, `bay.sandbox_id=${sandboxId}`]);
  if (!container) return false;
  // Bay may be removing it at the same moment; that is not a failure of the test.
  return Bun.spawnSync(["docker", "kill", container], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
}

function expectAnsweredOrKilled(answer: Answer, expectedOutput: string): void {
  expect({ status: answer.status, code: answer.body?.error?.code }).toEqual(
    answer.status === 502 ? { status: 502, code: "ship_error" } : { status: 200, code: undefined },
  );
  if (answer.status === 200) expect(answer.body.output).toBe(expectedOutput);
}

test(`chaos (seed ${SEED}): random execs, docker kills and one SIGKILL of Bay; every sandbox and file survives, and the engine matches the database`, async () => {
  console.log(`chaos seed ${SEED} (replay with BAY_CHAOS_SEED=${SEED})`);
  const random = seededRandom(SEED);
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)]!;

  const bay = new Installation({ BAY_GC__INTERVAL_SECONDS: "1", BAY_GC__ORPHAN_GRACE_SECONDS: "0" });
  await bay.start();
  const files = new Map<string, { path: string; content: string }>();
  for (let i = 0; i < SANDBOXES; i++) {
    const created = await bay.call("POST", "/v1/sandboxes", {});
    expect(created.status).toBe(201);
    const file = { path: `chaos/file-${i}.txt`, content: `sandbox ${i}, ${randomBytes(8).toString("hex")}\n` };
    expect((await bay.call("PUT", `/v1/sandboxes/${created.body.id}/filesystem/files`, file)).status).toBe(200);
    files.set(created.body.id, file);
  }
  const sandboxes = [...files.keys()];

  const daemonKillAt = Math.floor(ITERATIONS / 4 + random() * (ITERATIONS / 2));
  const killed = new Set<string>();
  for (let i = 0; i < ITERATIONS; i++) {
    const sandbox = pick(sandboxes);
    const file = files.get(sandbox)!;
    const roll = random();
    // Logged before it is checked, so that a failing run shows how it got there.
    const log = (action: string, answer?: Answer) => console.log(`chaos ${i}: ${action} on ${sandbox}${answer ? ` → ${answer.status}` : ""}`);
    if (i === daemonKillAt) {
      // Mid-request: an exec is on its way when the daemon dies.
      const cutShortMs = Math.floor(random() * 300);
      log(`SIGKILL of bay ${cutShortMs} ms into an exec`);
      const inFlight = bay.python(sandbox, "import time\ntime.sleep(0.5)").catch(() => undefined);
      await Bun.sleep(cutShortMs);
      await bay.crash();
      await inFlight;
      await bay.start();
    } else if (roll < 0.35) {
      const answer = await bay.python(sandbox, `print(${i})`);
      log("python", answer);
      expectAnsweredOrKilled(answer, `${i}\n`);
    } else if (roll < 0.7) {
      const answer = await bay.shell(sandbox, `cat ${file.path}`);
      log("shell", answer);
      expectAnsweredOrKilled(answer, file.content);
    } else if (roll < 0.9) {
      const hit = killContainerOf(bay, sandbox);
      if (hit) killed.add(sandbox);
      log(`docker kill${hit ? "" : " (nothing running)"}`);
    } else {
      const running = bay.shell(sandbox, "sleep 1; echo late");
      await Bun.sleep(300);
      const hit = killContainerOf(bay, sandbox);
      if (hit) killed.add(sandbox);
      const answer = await running;
      log(`docker kill${hit ? "" : " (nothing running)"} during a shell exec`, answer);
      expectAnsweredOrKilled(answer, "late\n");
    }
  }

  for (const [sandbox, file] of files) {
    let answer = await bay.python(sandbox, "6 * 7");
    // The last iteration may have killed its container just now.
    if (answer.status === 502) answer = await bay.python(sandbox, "6 * 7");
    expect(answer).toMatchObject({ status: 200, body: { success: true, output: "42\n" } });
    const read = await bay.call("GET", `/v1/sandboxes/${sandbox}/filesystem/files?path=${encodeURIComponent(file.path)}`);
    expect(read).toMatchObject({ status: 200, body: { content: file.content } });
  }
  // A sandbox whose container was killed says so.
  for (const sandbox of killed) {
    const view = (await bay.call("GET", `/v1/sandboxes/${sandbox}`)).body;
    expect({ sandbox, reset: typeof view.state_reset_at }).toEqual({ sandbox, reset: "string" });
  }

  expect((await bay.call("POST", "/v1/admin/gc/run")).status).toBe(200);
  expectEngineMatchesDatabase(bay);
});

test("creates racing a collector that runs all the time with no orphan grace keep their volumes", async () => {
  // A new sandbox's volume exists a moment before its rows; a collector run in that moment must not take it for an orphan.
  const bay = new Installation({ BAY_GC__INTERVAL_SECONDS: "0.02", BAY_GC__ORPHAN_GRACE_SECONDS: "0" });
  await bay.start();
  // The window is short; a few bursts of parallel creates make hitting it likely.
  for (let burst = 0; burst < 5; burst++) {
    const created = await Promise.all(Array.from({ length: 60 }, () => bay.call("POST", "/v1/sandboxes", {})));
    expect(created.map((answer) => answer.status)).toEqual(created.map(() => 201));
    const { engine, database } = engineAndDatabase(bay);
    expect(database.volumes.filter((volume) => !engine.volumes.includes(volume))).toEqual([]);
  }
  expectEngineMatchesDatabase(bay);
});
