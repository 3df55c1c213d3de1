/**
 * The benchmark's plumbing (scripts/bench.ts): options, figures, timing, child
 * processes and a daemon to measure.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { removeLabelled, untilNetworkSlotsReady } from "./bench-engine.ts";

export const quick = process.argv.includes("--quick");
/** Overridable so the bench can run a copy while dist/bay is being rebuilt. */
export const binary = resolve(process.env.BAY_BENCH_BINARY ?? resolve(import.meta.dir, "../dist/bay"));
export const image = process.env.BAY_DEFAULT_IMAGE ?? "bay-python:local";
export const scale = Number(process.env.BAY_BENCH_SCALE ?? (quick ? 20 : 100));
export const runs = (full: number, small: number) => (quick ? small : full);
/** Labels every container and volume the bench makes itself, so one sweep removes them, whatever failed. */
export const benchLabel = `bay-bench=${randomBytes(4).toString("hex")}`;

// ---- figures

export interface Figure {
  name: string;
  unit: string;
  median: number;
  p95: number;
  samples: number;
  baseline?: { name: string; median: number; p95: number };
  ratio?: number;
  target?: string;
}
export const figures: Figure[] = [];

export function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

export const median = (values: number[]) => quantile(values, 0.5);

type Baseline = { name: string; samples: number[] };

export function record(name: string, unit: string, samples: number[], options: { baseline?: Baseline; target?: string } = {}): void {
  const baseline = options.baseline && { name: options.baseline.name, median: median(options.baseline.samples), p95: quantile(options.baseline.samples, 0.95) };
  publish({ name, unit, median: median(samples), p95: quantile(samples, 0.95), samples: samples.length, target: options.target, baseline });
}

/** How much slower `measured` is than `baseline`: the difference of their medians (and of their p95s). */
export function recordOverhead(name: string, unit: string, measured: number[], baseline: number[], target: string): void {
  publish({
    name,
    unit,
    median: median(measured) - median(baseline),
    p95: quantile(measured, 0.95) - quantile(baseline, 0.95),
    samples: measured.length,
    target,
  });
}

function publish(figure: Figure): void {
  if (figure.baseline) figure.ratio = figure.median / figure.baseline.median;
  else delete figure.baseline;
  figures.push(figure);
  const base = figure.baseline ? `  vs ${figure.baseline.name}: ${figure.baseline.median.toFixed(2)} ${figure.unit} (ratio ${figure.ratio!.toFixed(2)})` : "";
  const target = figure.target ? `  [target ${figure.target}]` : "";
  console.log(`${figure.name.padEnd(56)} median ${figure.median.toFixed(2)} ${figure.unit}  p95 ${figure.p95.toFixed(2)}${base}${target}`);
}

/** How long each section took, to keep the run within its time budget. */
const sectionSeconds: Record<string, number> = {};

export async function section(name: string, body: () => Promise<void>): Promise<void> {
  const started = performance.now();
  try {
    await body();
  } finally {
    sectionSeconds[name] = Math.round((performance.now() - started) / 100) / 10;
  }
}

export async function writeResults(outFile: string): Promise<void> {
  await Bun.write(outFile, JSON.stringify({ date: new Date().toISOString(), image, quick, binary, sectionSeconds, figures }, null, 2));
  console.log(`\nseconds per section: ${Object.entries(sectionSeconds).map(([name, seconds]) => `${name} ${seconds}`).join(", ")}`);
  console.log(`written: ${outFile}`);
}

// ---- timing

export async function timed(action: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await action();
  return performance.now() - started;
}

/**
 * `count` rounds of every sampler in turn (each answers one sample, in ms),
 * so that drift over the run hits Bay and its baselines alike.
 */
export async function alternate<Samplers extends (() => Promise<number>)[]>(count: number, samplers: [...Samplers]): Promise<{ [K in keyof Samplers]: number[] }> {
  const samples = samplers.map(() => [] as number[]);
  for (let round = 0; round < count; round++) {
    for (const [index, sampler] of samplers.entries()) samples[index]!.push(await sampler());
  }
  return samples as { [K in keyof Samplers]: number[] };
}

export async function repeat(count: number, action: () => Promise<unknown>): Promise<number[]> {
  const [samples] = await alternate(count, [() => timed(action)]);
  return samples;
}

/** Calls `work` from `clients` concurrent loops for `seconds`; answers calls per second. */
export async function throughput(clients: number, seconds: number, work: (client: number, done: number) => Promise<unknown>): Promise<number> {
  let done = 0;
  const until = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      while (Date.now() < until) {
        await work(client, done);
        done++;
      }
    }),
  );
  return done / seconds;
}

// ---- processes

export function sh(...argv: string[]): string {
  const result = Bun.spawnSync(argv, { stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${result.stderr.toString()}`);
  return result.stdout.toString().trim();
}

/** Runs a command to its end without blocking the event loop; its stdout, or an error saying why it failed. */
export async function run(argv: string[], options: { env?: Record<string, string | undefined>; cwd?: string } = {}): Promise<string> {
  const child = Bun.spawn(argv, { ...options, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (exitCode !== 0) throw new Error(`${argv.join(" ")} exited ${exitCode}: ${stderr.trim()}`);
  return stdout;
}

/** Resident memory (VmRSS), or one of its parts: RssAnon (the process's own) or RssFile (mapped files: the executable). */
export function rssMb(pid: number, field: "VmRSS" | "RssAnon" | "RssFile" = "VmRSS"): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)![1]) / 1024;
}

/** This process's environment without Bay's variables, so a child sees only what the bench gives it. */
export function envWithoutBay(extra: Record<string, string>): Record<string, string | undefined> {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("BAY_"))), ...extra };
}

// ---- cleanup, also on Ctrl-C

const cleanups = new Set<() => Promise<void>>();

/** Runs `cleanup` when the bench is interrupted; the answer unregisters it. */
export function onInterrupt(cleanup: () => Promise<void>): () => void {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, async () => {
    console.error(`\n${signal}: cleaning up`);
    for (const cleanup of cleanups) await cleanup().catch((error) => console.error(error));
    await removeLabelled(benchLabel).catch((error) => console.error(error));
    process.exit(130);
  });
}

// ---- a daemon

export type Daemon = {
  url: string;
  key: string;
  pid: number;
  dataDir: string;
  instanceId: string;
  /** Ends the process only. */
  kill(): Promise<void>;
  /** Ends the process, then removes its instance's containers and volumes and its data dir. */
  stop(): Promise<void>;
};

/** A daemon on its own data dir; profiles with and without a warm pool. Replicas of one deployment share `shared` (instance id, key, database). */
export async function startDaemon(shared: { instanceId?: string; key?: string; env?: Record<string, string>; profiles?: string[] } = {}): Promise<Daemon> {
  const dataDir = mkdtempSync(join(tmpdir(), "bay-bench-"));
  const instanceId = shared.instanceId ?? `bench-${randomBytes(4).toString("hex")}`;
  const key = shared.key ?? `bench-${randomBytes(16).toString("hex")}`;
  const config = join(dataDir, "bay.yaml");
  await Bun.write(
    config,
    `profiles:\n  - { id: python-default, image: "${image}" }\n  - { id: warm, image: "${image}", warm_pool_size: 2 }\n` +
      (shared.profiles ?? []).map((profile) => `  - ${profile}\n`).join("") +
      `log: { level: warn }\ne2b: { enabled: true }\n` +
      // The scale section opens a connection a sandbox from this one address, past the default 64, and
      // starts them all at at once: the engine queues them past its default 20 s deadline (100 plain
      // `docker run -d` at once take ~50 s on 2 cores) and their agents past the default 60 s to ready.
      // That wait is what the section measures, so the deadlines are lifted here.
      `server: { max_connections_per_client: 512 }\ndriver: { docker: { engine_timeout_seconds: 300 } }\nship: { ready_timeout_seconds: 300 }\n`,
  );
  const child = Bun.spawn([binary, "serve", "--port", "0", "--config", config], {
    env: { ...process.env, BAY_DATA_DIR: dataDir, BAY_INSTANCE_ID: instanceId, BAY_API_KEY: key, BAY_LOG__LEVEL: "info", ...shared.env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const kill = async () => {
    child.kill("SIGTERM");
    await child.exited;
  };
  const stop = async () => {
    await kill();
    await removeLabelled(`bay.instance_id=${instanceId}`);
    rmSync(dataDir, { recursive: true, force: true });
  };
  const unregister = onInterrupt(stop);
  try {
    const url = await listeningUrl(child);
    return { url, key, pid: child.pid, dataDir, instanceId, kill, stop: () => (unregister(), stop()) };
  } catch (error) {
    unregister();
    await stop();
    throw error;
  }
}

/** The daemon's address, as soon as its log says it (polling would add its interval to start-up times). */
async function listeningUrl(child: Bun.Subprocess<"ignore", "pipe", "pipe">): Promise<string> {
  let log = "";
  const { promise, resolve: found, reject } = Promise.withResolvers<string>();
  const read = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      log += decoder.decode(chunk, { stream: true });
      const url = /listening on (http:\/\/\S+?) /.exec(log)?.[1];
      if (url) found(url);
    }
  };
  void read(child.stdout);
  void read(child.stderr);
  void child.exited.then((code) => reject(new Error(`bay serve exited ${code} before listening:\n${log}`)));
  const timeout = setTimeout(() => reject(new Error(`bay serve did not say where it listens within 10 s:\n${log}`)), 10_000);
  try {
    return await promise;
  } finally {
    clearTimeout(timeout);
  }
}

/**
 * Waits (outside any timing) until the daemon's refills are done: the `warm`
 * profile's pool is full again, and so are the network slots its new members
 * took, so that neither refill's engine work overlaps the next sample.
 */
export async function waitForRefills(daemon: Daemon, profile = "warm", size = 2): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt++) {
    if (new RegExp(`bay_warm_pool_ready\\{profile="${profile}"\\} ${size}`).test(await (await fetch(`${daemon.url}/metrics`)).text())) break;
    await Bun.sleep(50);
  }
  await untilNetworkSlotsReady(daemon.instanceId);
}

/** Where the daemon reaches a running sandbox's agent, as its database says. */
export interface AgentSession {
  endpoint: string;
  token: string;
  container_id: string;
}

export async function agentSession(daemon: Daemon, sandboxId: string): Promise<AgentSession> {
  const db = new (await import("bun:sqlite")).Database(join(daemon.dataDir, "bay.sqlite"), { readonly: true });
  try {
    const session = db.query("SELECT endpoint, token, container_id FROM sessions WHERE sandbox_id = ? AND status = 'running'").get(sandboxId);
    if (!session) throw new Error(`no running session for ${sandboxId}`);
    return session as AgentSession;
  } finally {
    db.close();
  }
}

/** One call straight to an agent, its answer read to the end. */
export async function callAgent(session: AgentSession, path: string, body: unknown): Promise<void> {
  const response = await fetch(`${session.endpoint}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${session.token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  await response.arrayBuffer();
  if (!response.ok) throw new Error(`agent ${path}: ${response.status}`);
}
