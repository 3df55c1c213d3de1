/**
 * Bay's benchmark: each Bay figure side by side with a baseline measured in
 * the same run on the same machine, as median and p95, printed as a table
 * and written as JSON. Targets are printed, not judged. Not part of the tests.
 *
 *   bun scripts/bench.ts [--out bench-results.json] [--quick] [--only SECTION,…] [--replicas-only]
 *
 * Runs the compiled dist/bay ($BAY_BENCH_BINARY) as a daemon on a temporary
 * data dir against the local Docker engine and the image in
 * $BAY_DEFAULT_IMAGE (bay-python:local). $BAY_BENCH_SCALE sets how many
 * sandboxes the scale section starts (default 100, quick 20). Sections, in
 * the order they run: startup, footprint, oneshot, coldstart, warm, hotpath,
 * files, throughput, growth, scale, replicas, gvisor (where the engine has
 * gVisor's runsc registered).
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { Sandbox as E2bSandbox } from "@e2b/code-interpreter";
import { Bay } from "../src/client/index.ts";
import { containerMemoryMb, engineColdStart, joinedHolder, policyNetwork, removeLabelled, untilNetworkSlotsReady } from "./bench-engine.ts";
import {
  agentSession,
  alternate,
  benchLabel,
  binary,
  callAgent,
  envWithoutBay,
  image,
  quick,
  record,
  recordOverhead,
  repeat,
  rssMb,
  run,
  section,
  runs,
  scale,
  sh,
  startDaemon,
  throughput,
  timed,
  waitForRefills,
  writeResults,
  type AgentSession,
  type Daemon,
} from "./bench-lib.ts";

const SECTIONS = ["startup", "footprint", "oneshot", "coldstart", "warm", "hotpath", "files", "throughput", "growth", "scale", "replicas", "gvisor"] as const;
type Section = (typeof SECTIONS)[number];

/** What the sections on the shared daemon hand on to each other. */
interface Bench {
  daemon: Daemon;
  bay: Bay;
  /** Running sandboxes, each warmed by one python/exec, with its agent's address. */
  pool: { id: string; agent: AgentSession }[];
  /** python/exec 1+1 through Bay with one sandbox running (the scale section's baseline). */
  oneSandboxExec?: number[];
}

const DAEMON_SECTIONS: Record<Exclude<Section, "startup" | "replicas" | "gvisor">, (bench: Bench) => Promise<void>> = {
  // Footprint first: its idle RSS is the daemon's before anything ran.
  footprint,
  oneshot: oneShots,
  coldstart: coldStart,
  warm: warmStart,
  hotpath: hotPath,
  files,
  throughput: exec16Clients,
  growth: rssGrowth,
  scale: scaleOut,
};

function selectedSections(): Set<Section> {
  if (process.argv.includes("--replicas-only")) return new Set(["replicas"]);
  const at = process.argv.indexOf("--only");
  if (at < 0) return new Set(SECTIONS);
  const names = (process.argv[at + 1] ?? "").split(",").filter(Boolean);
  const unknown = names.filter((name) => !SECTIONS.includes(name as Section));
  if (unknown.length || !names.length) throw new Error(`--only takes sections from: ${SECTIONS.join(", ")} (got ${unknown.join(", ") || "none"})`);
  return new Set(names as Section[]);
}

async function main(): Promise<void> {
  const outAt = process.argv.indexOf("--out");
  const outFile = outAt > 0 ? process.argv[outAt + 1]! : "bench-results.json";
  const sections = selectedSections();
  console.log(`Bay benchmark (${quick ? "quick" : "full"}), image ${image}, binary ${binary}, sections ${SECTIONS.filter((name) => sections.has(name)).join(",")}\n`);
  try {
    if (sections.has("startup")) await section("startup", startup);
    const onDaemon = Object.entries(DAEMON_SECTIONS).filter(([name]) => sections.has(name as Section));
    if (onDaemon.length) {
      const daemon = await startDaemon();
      const bench: Bench = { daemon, bay: new Bay({ url: daemon.url, apiKey: daemon.key, attempts: 1 }), pool: [] };
      try {
        for (const [name, body] of onDaemon) await section(name, () => body(bench));
      } finally {
        await daemon.stop().catch(reportCleanupFailure);
      }
    }
    if (sections.has("replicas")) await section("replicas", replicaThroughput);
    if (sections.has("gvisor")) await section("gvisor", gvisorBesideRunc);
  } finally {
    await removeLabelled(benchLabel).catch(reportCleanupFailure);
    await writeResults(outFile);
  }
}

/** Said, not thrown: a failed cleanup must not hide the failure that led to it. */
function reportCleanupFailure(error: unknown): void {
  console.error("cleanup failed:", error);
}

/** bay --version, and bay serve to a healthy /health. */
async function startup(): Promise<void> {
  const versionTimes = await repeat(runs(10, 3), async () => sh(binary, "--version"));
  const [startTimes] = await alternate(runs(5, 2), [
    async () => {
      const started = performance.now();
      const daemon = await startDaemon();
      while (!(await fetch(`${daemon.url}/health`).then((r) => r.ok, () => false))) await Bun.sleep(1);
      const ms = performance.now() - started;
      await daemon.stop();
      return ms;
    },
  ]);
  record("bay --version", "ms", versionTimes);
  record("bay serve: start to healthy /health", "ms", startTimes, { target: "≤ 100 ms" });
}

/** Idle RSS, and what one idle sandbox costs in memory. */
async function footprint({ daemon, bay }: Bench): Promise<void> {
  record("bay serve: idle RSS", "MB", [rssMb(daemon.pid)], { target: "≤ 60 MB" });
  // Most of it is the executable's own pages (clean, shared with the page cache, reclaimable): shown apart.
  record("bay serve: idle RSS, mapped from the executable", "MB", [rssMb(daemon.pid, "RssFile")]);
  record("bay serve: idle RSS, the process's own (anonymous)", "MB", [rssMb(daemon.pid, "RssAnon")]);
  // Sandboxes as a running daemon starts them: on network slots (drivers/docker/network-slots.ts), their holders counted in.
  await untilNetworkSlotsReady(daemon.instanceId);
  const ids = await Promise.all(
    Array.from({ length: runs(4, 2) }, async () => {
      const id = (await bay.sandboxes.create()).id;
      await bay.python.exec(id, { code: "print(1)" });
      return id;
    }),
  );
  // What a sandbox holds once the first call's transient memory is given back.
  await Bun.sleep(2000);
  const holders: number[] = [];
  const memory = await Promise.all(
    ids.map(async (id) => {
      const container = (await agentSession(daemon, id)).container_id;
      // A sandbox that joined a network slot also costs its holder: counted in.
      const holder = await joinedHolder(container);
      const holderMb = holder ? await containerMemoryMb(holder) : 0;
      if (holder) holders.push(holderMb);
      return (await containerMemoryMb(container)) + holderMb;
    }),
  );
  record("per-sandbox memory (agent + kernel, idle)", "MB", memory, { target: "≤ 16 MB" });
  if (holders.length) record("per-sandbox memory: of it, the network slot's holder", "MB", holders);
  await Promise.all(ids.map((id) => bay.sandboxes.delete(id)));
}

/** Fails unless a one-shot printed exactly "1", so a broken run cannot pass for a fast one. */
async function printsOne(command: Promise<string>): Promise<void> {
  const stdout = await command;
  if (stdout !== "1\n") throw new Error(`expected "1\\n" on stdout, got ${JSON.stringify(stdout)}`);
}

const dockerRunPrint = () => printsOne(run(["docker", "run", "--rm", "--label", benchLabel, image, "python3", "-c", "print(1)"]));

/** `bay exec` as a shell script would use it: embedded, and against the daemon's warm pool. */
async function oneShots({ daemon }: Bench): Promise<void> {
  // One data dir for every sample, as a user's; its per-data-dir state is built by the warm-up.
  const dataDir = mkdtempSync(join(tmpdir(), "bay-bench-exec-"));
  const instanceId = `bench-exec-${randomBytes(4).toString("hex")}`;
  const env = envWithoutBay({ BAY_DATA_DIR: dataDir, BAY_DEFAULT_IMAGE: image, BAY_INSTANCE_ID: instanceId });
  // Started in the data dir, so that no ./bay.yaml of the working directory is read.
  const embedded = () => printsOne(run([binary, "exec", "python", "-c", "print(1)"], { env, cwd: dataDir }));
  try {
    await embedded();
    await dockerRunPrint();
    const [bayExec, dockerRun] = await alternate(runs(10, 3), [() => timed(embedded), () => timed(dockerRunPrint)]);
    record("one-shot: bay exec python -c (embedded)", "ms", bayExec, { baseline: { name: "docker run --rm python3", samples: dockerRun }, target: "≤ 1.1 × baseline" });
  } finally {
    await removeLabelled(`bay.instance_id=${instanceId}`);
    rmSync(dataDir, { recursive: true, force: true });
  }

  const viaDaemon = () =>
    printsOne(run([binary, "exec", "--url", daemon.url, "--api-key", daemon.key, "--profile", "warm", "python", "-c", "print(1)"], { env: envWithoutBay({}) }));
  await waitForRefills(daemon);
  await viaDaemon();
  const [warm] = await alternate(runs(10, 3), [
    async () => {
      await waitForRefills(daemon);
      return timed(viaDaemon);
    },
  ]);
  record("one-shot: bay exec --url --profile warm python -c", "ms", warm, { target: "median ≤ 60 ms" });
}

/** A call to the daemon's API as any HTTP client makes it; the raw response, so its headers can be read. */
async function api(daemon: Daemon, path: string, body: unknown, method = "POST"): Promise<Response> {
  const response = await fetch(`${daemon.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${daemon.key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response;
}

/** `Server-Timing: a;dur=1.5, b;desc="x";dur=2` → {a: 1.5, b: 2}; entries without dur are left out, repeated names add up. */
function serverTimings(headers: Headers): Map<string, number> {
  const timings = new Map<string, number>();
  const value = headers.get("server-timing") ?? "";
  // Commas inside quoted descriptions do not end an entry.
  for (const entry of value.split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/)) {
    const [name, ...params] = entry.split(";").map((part) => part.trim());
    const dur = params.find((param) => /^dur=/i.test(param));
    const ms = dur === undefined ? NaN : Number(dur.slice(4).replace(/^"|"$/g, ""));
    if (name && Number.isFinite(ms)) timings.set(name, (timings.get(name) ?? 0) + ms);
  }
  return timings;
}

/** Bay's own account (Server-Timing) of where each cold start's time went, phase by phase. */
function phaseLog() {
  const phases = new Map<string, number[]>();
  const unaccounted: number[] = [];
  return {
    add(total: number, responses: Response[]): void {
      const sample = new Map<string, number>();
      for (const response of responses) for (const [name, ms] of serverTimings(response.headers)) sample.set(name, (sample.get(name) ?? 0) + ms);
      // A "total" entry would count everything twice.
      sample.delete("total");
      if (!sample.size) return;
      for (const [name, ms] of sample) phases.set(name, [...(phases.get(name) ?? []), ms]);
      unaccounted.push(total - [...sample.values()].reduce((a, b) => a + b, 0));
    },
    report(): void {
      if (!phases.size) {
        console.log("cold start phases: breakdown unavailable (no Server-Timing header on create or the first python/exec)");
        return;
      }
      for (const [phase, samples] of phases) record(`cold start phase: ${phase}`, "ms", samples);
      record("cold start: unaccounted", "ms", unaccounted);
    },
  };
}

/** Bay's cold start against the engine API doing the same by hand and against `docker run --rm`, with where Bay's time goes. */
async function coldStart({ daemon, bay }: Bench): Promise<void> {
  // Bay's sandboxes sit on a policy network (fenced from each other and the host); there the engine itself sets up
  // its embedded DNS in each container's namespace as it starts it, which the default bridge skips. The baseline
  // is measured both ways: the (default bridge) and the same container start on Bay's network.
  let bayNetwork: string | undefined;
  // The same start without network slots (drivers/docker/network-slots.ts): what a start costs when none is ready.
  const withoutSlots = await startDaemon({ env: { BAY_DRIVER__DOCKER__NETWORK_SLOTS: "0" } });
  const coldSample = async (on: Daemon, log?: ReturnType<typeof phaseLog>) => {
    const started = performance.now();
    const create = await api(on, "/v1/sandboxes", {});
    const { id } = (await create.json()) as { id: string };
    const exec = await api(on, `/v1/sandboxes/${id}/python/exec`, { code: "print(1)" });
    const answer = (await exec.json()) as { success: boolean; output: string };
    const total = performance.now() - started;
    if (!answer.success || answer.output !== "1\n") throw new Error(`cold python/exec answered ${JSON.stringify(answer)}`);
    await api(on, `/v1/sandboxes/${id}`, undefined, "DELETE");
    log?.add(total, [create, exec]);
    // The slot the start used is made again in the background: not while the next sample runs.
    if (on === daemon) await untilNetworkSlotsReady(daemon.instanceId);
    return total;
  };
  const samplers = (log: ReturnType<typeof phaseLog>): (() => Promise<number>)[] => [
    () => coldSample(daemon, log),
    () => coldSample(withoutSlots),
    () => engineColdStart(image, benchLabel),
    () => timed(dockerRunPrint),
    ...(bayNetwork ? [() => engineColdStart(image, benchLabel, bayNetwork!)] : []),
  ];
  // One unmeasured round, so that no first-time cost (image cache, the agent's binary) lands on one side.
  try {
    await alternate(1, samplers(phaseLog()));
    bayNetwork = await policyNetwork("internet");
    const log = phaseLog();
    const results = await alternate(runs(10, 3), samplers(log));
    reportColdStart(results, bayNetwork, log);
  } finally {
    await withoutSlots.stop();
  }
}

function reportColdStart([bayTimes, withoutSlotsTimes, engineTimes, dockerTimes, engineOnBayNetwork]: number[][], bayNetwork: string | undefined, log: ReturnType<typeof phaseLog>): void {
  const name = "cold start: create + first python/exec";
  record(name, "ms", bayTimes!, { baseline: { name: "engine API: volume, create, start, exec python3", samples: engineTimes! }, target: "≤ 1.2 × baseline" });
  record(`${name} vs docker run`, "ms", bayTimes!, { baseline: { name: "docker run --rm python3", samples: dockerTimes! }, target: "≤ 0.75 × baseline" });
  record(`${name}, no network slot ready`, "ms", withoutSlotsTimes!, { baseline: { name: "docker run --rm python3", samples: dockerTimes! } });
  if (engineOnBayNetwork) {
    record(`${name} vs the engine on Bay's network`, "ms", bayTimes!, {
      baseline: { name: `engine API as above, on ${bayNetwork}`, samples: engineOnBayNetwork },
      target: "≤ 1.2 × baseline",
    });
  }
  log.report();
}

/** Warm start from the pool, through Bay's API and through E2B's SDK on Bay's E2B front door (docs/e2b.md). */
async function warmStart({ daemon, bay }: Bench): Promise<void> {
  const e2bOptions = e2bOptionsOf(daemon);
  const viaApi = async () => {
    await waitForRefills(daemon);
    let id = "";
    const ms = await timed(async () => {
      id = (await bay.sandboxes.create({ profile: "warm" })).id;
      await bay.python.exec(id, { code: "print(1)" });
    });
    await bay.sandboxes.delete(id);
    return ms;
  };
  const viaE2b = async () => {
    await waitForRefills(daemon);
    let created: E2bSandbox | undefined;
    const ms = await timed(async () => {
      created = await E2bSandbox.create("warm", e2bOptions);
      await created.runCode("1");
    });
    await created?.kill();
    return ms;
  };
  const [warm, e2bWarm] = await alternate(runs(10, 3), [viaApi, viaE2b]);
  record("warm start: create + first python/exec", "ms", warm, { target: "median ≤ 50 ms" });
  record("E2B SDK: warm create + first runCode", "ms", e2bWarm, { baseline: { name: "Bay's API: warm create + first python/exec", samples: warm }, target: "median ≤ 50 ms" });
}

function e2bOptionsOf(daemon: Daemon) {
  return { apiUrl: `${daemon.url}/e2b`, sandboxUrl: `${daemon.url}/e2b/sandbox`, apiKey: daemon.key };
}

/** The pool grown to `count` running sandboxes. */
async function poolOf(bench: Bench, count: number): Promise<Bench["pool"]> {
  while (bench.pool.length < count) {
    const id = (await bench.bay.sandboxes.create()).id;
    await bench.bay.python.exec(id, { code: "1" });
    bench.pool.push({ id, agent: await agentSession(bench.daemon, id) });
  }
  // The network slots these starts took are made again in the background: not during what the caller measures.
  await untilNetworkSlotsReady(bench.daemon.instanceId);
  return bench.pool.slice(0, count);
}

async function emptyPool(bench: Bench): Promise<void> {
  await Promise.all(bench.pool.map(({ id }) => bench.bay.sandboxes.delete(id)));
  bench.pool = [];
}

/** Bay and the agent straight, call by call, after a few unmeasured calls of each. */
async function viaBayAndAgent(count: number, viaBay: () => Promise<unknown>, direct: () => Promise<unknown>): Promise<[number[], number[]]> {
  const samplers: [() => Promise<number>, () => Promise<number>] = [() => timed(viaBay), () => timed(direct)];
  await alternate(5, samplers);
  return alternate(count, samplers);
}

/** Warm exec latency: through Bay, straight to the agent, and docker exec. */
async function hotPath(bench: Bench): Promise<void> {
  const { bay, daemon } = bench;
  const [{ id, agent }] = (await poolOf(bench, 1)) as [Bench["pool"][number]];
  const n = runs(300, 50);
  const dockerExec = (...argv: string[]) => repeat(runs(20, 5), () => run(["docker", "exec", agent.container_id, ...argv]));

  const [pythonBay, pythonAgent] = await viaBayAndAgent(
    n,
    () => bay.python.exec(id, { code: "1+1" }),
    () => callAgent(agent, "/ipython/exec", { code: "1+1", timeout: 30 }),
  );
  bench.oneSandboxExec = pythonBay;
  record("python/exec 1+1 through Bay", "ms", pythonBay, { baseline: { name: "agent directly", samples: pythonAgent }, target: "median ≤ 2 ms" });
  recordOverhead("python/exec overhead over the agent", "ms", pythonBay, pythonAgent, "≤ 0.4 ms");
  record("python/exec 1+1 through Bay vs docker exec", "ms", pythonBay, { baseline: { name: "docker exec python3", samples: await dockerExec("python3", "-c", "1+1") }, target: "≥ 20× faster" });

  const [shellBay, shellAgent] = await viaBayAndAgent(
    n,
    () => bay.shell.exec(id, { command: "true" }),
    () => callAgent(agent, "/shell/exec", { command: "true", timeout: 30 }),
  );
  record("shell/exec true through Bay", "ms", shellBay, { baseline: { name: "agent directly", samples: shellAgent } });
  recordOverhead("shell/exec true overhead over the agent", "ms", shellBay, shellAgent, "≤ 2 ms");
  record("shell/exec true through Bay vs docker exec", "ms", shellBay, { baseline: { name: "docker exec true", samples: await dockerExec("true") } });

  const e2bSandbox = await E2bSandbox.create(e2bOptionsOf(daemon));
  try {
    await e2bSandbox.commands.run("true");
    const e2bRun = await repeat(n, () => e2bSandbox.commands.run("true"));
    record("E2B SDK: commands.run true", "ms", e2bRun, { baseline: { name: "Bay's API: shell/exec true", samples: shellBay }, target: "median ≤ 10 ms" });
  } finally {
    await e2bSandbox.kill();
  }
}

async function files(bench: Bench): Promise<void> {
  const [{ id }] = (await poolOf(bench, 1)) as [Bench["pool"][number]];
  for (const [label, size, count] of [["1 MiB", 1024 * 1024, runs(20, 5)], ["64 MiB", 64 * 1024 * 1024, runs(3, 1)]] as const) {
    const bytes = randomBytes(size);
    const samples = await repeat(count, async () => {
      await bench.bay.files.upload(id, "bench.bin", bytes);
      await bench.bay.files.download(id, "bench.bin");
    });
    record(`file upload + download ${label}`, "ms", samples);
  }
}

/** 16 clients over 8 sandboxes, through Bay and straight to the agents, round by round; Bay's peak RSS meanwhile. */
async function exec16Clients(bench: Bench): Promise<void> {
  const pool = await poolOf(bench, 8);
  const seconds = quick ? 2 : 5;
  let peakRss = 0;
  const viaBay = async () => {
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMb(bench.daemon.pid))), 100);
    try {
      return await throughput(16, seconds, (client) => bench.bay.python.exec(pool[client % pool.length]!.id, { code: "1+1" }));
    } finally {
      clearInterval(sampler);
    }
  };
  const direct = async () => throughput(16, seconds, (client) => callAgent(pool[client % pool.length]!.agent, "/ipython/exec", { code: "1+1", timeout: 30 }));
  const [bay, agents] = await alternate(runs(3, 1), [viaBay, direct]);
  const name = "throughput: python/exec, 16 clients, 8 sandboxes";
  record(`${name}, straight to the agents`, "exec/s", agents);
  record(name, "exec/s", bay, { baseline: { name: "straight to the agents", samples: agents }, target: "≥ 0.5 × baseline" });
  record("bay serve: RSS under load (peak)", "MB", [peakRss], { target: "≤ 150 MB" });
}

/** RSS growth over many execs, after a warm-up that lets heap and allocator reach their working size. */
async function rssGrowth(bench: Bench): Promise<void> {
  const pool = await poolOf(bench, 4);
  const execs = runs(10_000, 1000);
  const execMany = async (count: number) => {
    let left = count;
    await Promise.all(
      pool.map(async ({ id }) => {
        while (left-- > 0) await bench.bay.python.exec(id, { code: "1" });
      }),
    );
  };
  await execMany(Math.ceil(execs / 2));
  const rssBefore = rssMb(bench.daemon.pid);
  await execMany(execs);
  record(`bay serve: RSS growth over ${execs} execs (after warm-up)`, "MB", [rssMb(bench.daemon.pid) - rssBefore], { target: "no growth" });
}

/** python/exec 1+1 with one sandbox running, when the hot path did not measure it this run. */
async function oneSandboxExec(bench: Bench): Promise<number[]> {
  const [{ id }] = (await poolOf(bench, 1)) as [Bench["pool"][number]];
  await repeat(5, () => bench.bay.python.exec(id, { code: "1+1" }));
  const samples = await repeat(runs(300, 100), () => bench.bay.python.exec(id, { code: "1+1" }));
  await emptyPool(bench);
  return samples;
}

/** `scale` sandboxes started all at once against as many `docker run -d`; then exec latency and RSS with them all running. */
async function scaleOut(bench: Bench): Promise<void> {
  const { bay, daemon } = bench;
  await emptyPool(bench);
  const oneRunning = bench.oneSandboxExec ?? (await oneSandboxExec(bench));

  const dockerSeconds = await timed(() => Promise.all(Array.from({ length: scale }, () => run(["docker", "run", "-d", "--label", benchLabel, image, "sleep", "infinity"]))));
  await removeLabelled(benchLabel);

  const many: string[] = [];
  try {
    const baySeconds = await timed(async () => {
      // Settled, not raced: every start is over before the figure is refused or the sandboxes removed.
      const starts = await Promise.allSettled(
        Array.from({ length: scale }, async () => {
          const id = (await bay.sandboxes.create()).id;
          many.push(id);
          await bay.shell.exec(id, { command: "true" });
        }),
      );
      const failed = starts.filter((start) => start.status === "rejected");
      if (failed.length) throw new Error(`${failed.length} of ${scale} concurrent starts failed, the first: ${(failed[0] as PromiseRejectedResult).reason}`);
    });
    // As rates, so that a ratio ≥ 1 means Bay starts them at least as fast.
    record(`scale: start ${scale} sandboxes concurrently`, "per s", [(scale * 1000) / baySeconds], {
      baseline: { name: `${scale} × docker run -d at once`, samples: [(scale * 1000) / dockerSeconds] },
      target: "≥ 1 × baseline",
    });
    await Promise.all(many.map((id) => bay.python.exec(id, { code: "1" })));
    let next = 0;
    const latency = await repeat(runs(300, 100), () => bay.python.exec(many[next++ % many.length]!, { code: "1+1" }));
    record(`scale: python/exec 1+1 with ${scale} running sandboxes`, "ms", latency, { baseline: { name: "1 running sandbox", samples: oneRunning }, target: "≤ 1.5 × baseline" });
    record(`scale: bay serve RSS with ${scale} running sandboxes`, "MB", [rssMb(daemon.pid)], { target: "≤ 200 MB" });
  } finally {
    await Promise.all(many.map((id) => bay.sandboxes.delete(id).catch(() => undefined)));
  }
}

/**
 * Create and exec throughput of one deployment, 16 clients spread round
 * robin over its daemons: SQLite with one process (the baseline), Postgres
 * with one replica and with three, in the same run. Postgres is a
 * throwaway cluster (Debian's server, as the tests start it).
 */
async function replicaThroughput(): Promise<void> {
  if (!existsSync("/usr/lib/postgresql")) {
    console.log("replicas: skipped (no Postgres server; bootstrap.sh --test installs it)");
    return;
  }
  const { startPostgres } = await import("../test/helpers/postgres.ts");
  const cluster = await startPostgres();
  const seconds = quick ? 2 : 5;
  const measure = async (daemons: Daemon[]) => {
    const clients = daemons.map((daemon) => new Bay({ url: daemon.url, apiKey: daemon.key, attempts: 1 }));
    const spread = (work: (client: Bay, i: number) => Promise<unknown>) => throughput(16, seconds, (i, done) => work(clients[(i + done) % clients.length]!, i));
    const created: string[] = [];
    const creates = await spread(async (client) => created.push((await client.sandboxes.create()).id));
    for (const id of created) await clients[0]!.sandboxes.delete(id);
    const pool: string[] = [];
    for (let i = 0; i < 8; i++) {
      const id = (await clients[0]!.sandboxes.create()).id;
      await clients[0]!.python.exec(id, { code: "1" });
      pool.push(id);
    }
    const execs = await spread((client, i) => client.python.exec(pool[i % pool.length]!, { code: "1+1" }));
    for (const id of pool) await clients[0]!.sandboxes.delete(id);
    return { creates, execs };
  };
  const deployment = async (replicas: number, postgres: boolean) => {
    const shared = { instanceId: `bench-${randomBytes(4).toString("hex")}`, key: `bench-${randomBytes(16).toString("hex")}`, env: (postgres ? { BAY_DATABASE_URL: await cluster.database() } : {}) as Record<string, string> };
    const daemons: Daemon[] = [];
    try {
      for (let i = 0; i < replicas; i++) daemons.push(await startDaemon(shared));
      return await measure(daemons);
    } finally {
      // All replicas down before their instance's containers go: a live one would refill its warm pool meanwhile.
      await Promise.all(daemons.map((daemon) => daemon.kill()));
      for (const daemon of daemons) await daemon.stop();
    }
  };
  try {
    const sqlite = await deployment(1, false);
    const one = await deployment(1, true);
    const three = await deployment(3, true);
    const baseline = (samples: number) => ({ name: "SQLite, 1 process", samples: [samples] });
    record("replicas: creates, Postgres, 1 replica", "creates/s", [one.creates], { baseline: baseline(sqlite.creates) });
    record("replicas: creates, Postgres, 3 replicas", "creates/s", [three.creates], { baseline: baseline(sqlite.creates) });
    record("replicas: python/exec, Postgres, 1 replica", "exec/s", [one.execs], { baseline: baseline(sqlite.execs) });
    record("replicas: python/exec, Postgres, 3 replicas", "exec/s", [three.execs], { baseline: baseline(sqlite.execs) });
  } finally {
    await cluster.stop();
  }
}

/**
 * The second wall's cost: the same figures under gVisor (runtime: gvisor)
 * beside runc, on one daemon, alternated. Skipped where the engine has no
 * runsc registered (scripts/bootstrap.sh --test registers it).
 */
async function gvisorBesideRunc(): Promise<void> {
  const runtimes = sh("docker", "info", "--format", "{{range $name, $_ := .Runtimes}}{{$name}} {{end}}").split(" ");
  if (!runtimes.includes("runsc")) {
    console.log("gvisor: the engine has no runtime runsc; skipped");
    return;
  }
  const daemon = await startDaemon({
    profiles: [`{ id: gvisor, image: "${image}", runtime: gvisor }`, `{ id: gvisor-warm, image: "${image}", runtime: gvisor, warm_pool_size: 2 }`],
  });
  const bay = new Bay({ url: daemon.url, apiKey: daemon.key, attempts: 1 });
  try {
    const coldOn = (profile: string) => async () => {
      let id = "";
      const ms = await timed(async () => {
        id = (await bay.sandboxes.create({ profile })).id;
        await bay.python.exec(id, { code: "print(1)" });
      });
      await bay.sandboxes.delete(id);
      return ms;
    };
    const warmOn = (profile: string) => async () => {
      await waitForRefills(daemon, profile);
      return coldOn(profile)();
    };
    await alternate(1, [coldOn("gvisor"), coldOn("python-default")]);
    const [gvisorCold, runcCold] = await alternate(runs(10, 3), [coldOn("gvisor"), coldOn("python-default")]);
    record("gvisor: cold start: create + first python/exec", "ms", gvisorCold, { baseline: { name: "the same under runc", samples: runcCold } });
    const [gvisorWarm, runcWarm] = await alternate(runs(10, 3), [warmOn("gvisor-warm"), warmOn("warm")]);
    record("gvisor: warm start: create + first python/exec", "ms", gvisorWarm, { baseline: { name: "the same under runc", samples: runcWarm } });

    const running = async (profile: string) => {
      const { id } = await bay.sandboxes.create({ profile });
      await bay.python.exec(id, { code: "1 + 1" });
      return id;
    };
    const [walled, plain] = [await running("gvisor"), await running("python-default")];
    const execOn = (id: string) => () => timed(() => bay.python.exec(id, { code: "1 + 1" }));
    const [gvisorExec, runcExec] = await alternate(runs(200, 50), [execOn(walled), execOn(plain)]);
    record("gvisor: python/exec 1+1 on a running sandbox", "ms", gvisorExec, { baseline: { name: "the same under runc", samples: runcExec } });
    const memoryOf = (id: string) => containerMemoryMb(sh("docker", "ps", "-q", "--filter", `label=bay.sandbox_id=${id}`));
    const [gvisorMemory, runcMemory] = await alternate(runs(5, 3), [() => memoryOf(walled), () => memoryOf(plain)]);
    record("gvisor: memory of a running sandbox after one exec", "MB", gvisorMemory, { baseline: { name: "the same under runc", samples: runcMemory } });
  } finally {
    await daemon.stop();
  }
}

await main();
