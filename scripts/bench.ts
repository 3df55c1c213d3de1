/**
 * Bay's benchmark: each Bay figure side by side with a baseline measured in
 * the same run on the same machine, as median and p95, printed as a table
 * and written as JSON. Not part of the tests.
 *
 *   bun scripts/bench.ts [--out bench-results.json] [--quick] [--replicas-only]
 *
 * Runs the compiled dist/bay as a daemon on a temporary data dir against the
 * local Docker engine and the image in $BAY_DEFAULT_IMAGE (bay-python:local).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { Sandbox as E2bSandbox } from "@e2b/code-interpreter";
import { Bay } from "../src/client/index.ts";

const quick = process.argv.includes("--quick");
const outIndex = process.argv.indexOf("--out");
const outFile = outIndex > 0 ? process.argv[outIndex + 1]! : "bench-results.json";
const binary = resolve(import.meta.dir, "../dist/bay");
const image = process.env.BAY_DEFAULT_IMAGE ?? "bay-python:local";
const scale = Number(process.env.BAY_BENCH_SCALE ?? (quick ? 20 : 100));
const runs = (full: number, small: number) => (quick ? small : full);

interface Figure {
  name: string;
  unit: string;
  median: number;
  p95: number;
  samples: number;
  baseline?: { name: string; median: number; p95: number };
  ratio?: number;
  target?: string;
}
const figures: Figure[] = [];

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

function record(name: string, unit: string, samples: number[], options: { baseline?: { name: string; samples: number[] }; target?: string } = {}): void {
  const figure: Figure = { name, unit, median: quantile(samples, 0.5), p95: quantile(samples, 0.95), samples: samples.length, target: options.target };
  if (options.baseline) {
    figure.baseline = { name: options.baseline.name, median: quantile(options.baseline.samples, 0.5), p95: quantile(options.baseline.samples, 0.95) };
    figure.ratio = figure.median / figure.baseline.median;
  }
  figures.push(figure);
  const base = figure.baseline ? `  vs ${figure.baseline.name}: ${figure.baseline.median.toFixed(2)} ${unit} (ratio ${figure.ratio!.toFixed(2)})` : "";
  console.log(`${name.padEnd(46)} median ${figure.median.toFixed(2)} ${unit}  p95 ${figure.p95.toFixed(2)}${base}${figure.target ? `  [target ${figure.target}]` : ""}`);
}

async function timed(action: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await action();
  return performance.now() - started;
}

async function repeat(count: number, action: () => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) samples.push(await timed(action));
  return samples;
}

function sh(...argv: string[]): string {
  const result = Bun.spawnSync(argv, { stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${result.stderr.toString()}`);
  return result.stdout.toString().trim();
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

type Daemon = { url: string; key: string; pid: number; stop(): Promise<void>; dataDir: string; instanceId: string };

/** A daemon on its own data dir; profiles with and without a warm pool. Replicas of one deployment share `shared` (instance id, key, database). */
async function startDaemon(shared: { instanceId?: string; key?: string; env?: Record<string, string> } = {}): Promise<Daemon> {
  const dataDir = mkdtempSync(join(tmpdir(), "bay-bench-"));
  const instanceId = shared.instanceId ?? `bench-${randomBytes(4).toString("hex")}`;
  const key = shared.key ?? `bench-${randomBytes(16).toString("hex")}`;
  const config = join(dataDir, "bay.yaml");
  await Bun.write(
    config,
    `profiles:\n  - { id: python-default, image: "${image}" }\n  - { id: warm, image: "${image}", warm_pool_size: 2 }\nlog: { level: warn }\ne2b: { enabled: true }\n`,
  );
  const child = Bun.spawn([binary, "serve", "--port", "0", "--config", config], {
    env: { ...process.env, BAY_DATA_DIR: dataDir, BAY_INSTANCE_ID: instanceId, BAY_API_KEY: key, BAY_LOG__LEVEL: "info", ...shared.env },
    stdout: "pipe",
    stderr: "pipe",
  });
  let log = "";
  void (async () => {
    for await (const chunk of child.stderr) log += new TextDecoder().decode(chunk);
  })();
  void (async () => {
    for await (const chunk of child.stdout) log += new TextDecoder().decode(chunk);
  })();
  for (let i = 0; i < 500 && !/listening on (http:\/\/\S+?) /.test(log); i++) await Bun.sleep(10);
  const url = /listening on (http:\/\/\S+?) /.exec(log)![1]!;
  return {
    url,
    key,
    pid: child.pid,
    dataDir,
    instanceId,
    async stop() {
      child.kill("SIGTERM");
      await child.exited;
      for (const id of sh("docker", "ps", "-aq", "--filter", `label=bay.instance_id=${instanceId}`).split("\n").filter(Boolean)) sh("docker", "rm", "-f", id);
      for (const v of sh("docker", "volume", "ls", "-q", "--filter", `label=bay.instance_id=${instanceId}`).split("\n").filter(Boolean)) sh("docker", "volume", "rm", "-f", v);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function main(): Promise<void> {
  console.log(`Bay benchmark (${quick ? "quick" : "full"}), image ${image}\n`);
  if (process.argv.includes("--replicas-only")) {
    await replicaThroughput();
    await Bun.write(outFile, JSON.stringify({ date: new Date().toISOString(), image, quick, figures }, null, 2));
    return;
  }

  // Start-up: bay --version, and bay serve to a healthy /health.
  const versionTimes = await repeat(runs(10, 3), async () => sh(binary, "--version"));
  const startTimes: number[] = [];
  for (let i = 0; i < runs(5, 2); i++) {
    const started = performance.now();
    const daemon = await startDaemon();
    while (!(await fetch(`${daemon.url}/health`).then((r) => r.ok, () => false))) await Bun.sleep(2);
    startTimes.push(performance.now() - started);
    await daemon.stop();
  }
  record("bay --version", "ms", versionTimes);
  record("bay serve: start to healthy /health", "ms", startTimes, { target: "≤ 150 ms" });

  const daemon = await startDaemon();
  const bay = new Bay({ url: daemon.url, apiKey: daemon.key, attempts: 1 });
  try {
    record("bay serve: idle RSS", "MB", [rssMb(daemon.pid)], { target: "≤ 80 MB" });

    // Cold start vs docker run --rm.
    const dockerRun = await repeat(runs(10, 3), async () => sh("docker", "run", "--rm", image, "python3", "-c", "print(1)"));
    const cold = await repeat(runs(10, 3), async () => {
      const sandbox = await bay.sandboxes.create();
      await bay.python.exec(sandbox.id, { code: "print(1)" });
      await bay.sandboxes.delete(sandbox.id);
    });
    record("cold start: create + first python/exec", "ms", cold, { baseline: { name: "docker run --rm python3", samples: dockerRun }, target: "≤ 1.3 × baseline" });

    // Warm start from the pool (waits for the pool to refill between runs, outside the timing).
    const warm: number[] = [];
    for (let i = 0; i < runs(10, 3); i++) {
      for (let w = 0; w < 300; w++) {
        const metrics = await (await fetch(`${daemon.url}/metrics`)).text();
        if (/bay_warm_pool_ready\{profile="warm"\} 2/.test(metrics)) break;
        await Bun.sleep(50);
      }
      let id = "";
      warm.push(
        await timed(async () => {
          id = (await bay.sandboxes.create({ profile: "warm" })).id;
          await bay.python.exec(id, { code: "print(1)" });
        }),
      );
      await bay.sandboxes.delete(id);
    }
    record("warm start: create + first python/exec", "ms", warm, { target: "median ≤ 50 ms" });

    // The same through E2B's own SDK and Bay's E2B front door (docs/e2b.md): create from the warm pool, first runCode.
    const e2bOptions = { apiUrl: `${daemon.url}/e2b`, sandboxUrl: `${daemon.url}/e2b/sandbox`, apiKey: daemon.key };
    const waitForPool = async () => {
      for (let w = 0; w < 300; w++) {
        if (/bay_warm_pool_ready\{profile="warm"\} 2/.test(await (await fetch(`${daemon.url}/metrics`)).text())) return;
        await Bun.sleep(50);
      }
    };
    const e2bWarm: number[] = [];
    for (let i = 0; i < runs(10, 3); i++) {
      await waitForPool();
      let created: E2bSandbox | undefined;
      e2bWarm.push(
        await timed(async () => {
          created = await E2bSandbox.create("warm", e2bOptions);
          await created.runCode("1");
        }),
      );
      await created?.kill();
    }
    record("E2B SDK: warm create + first runCode", "ms", e2bWarm, { baseline: { name: "Bay's API: warm create + first python/exec", samples: warm }, target: "median ≤ 50 ms" });

    // Warm exec latency: through Bay, straight to the agent, and docker exec.
    const sandbox = await bay.sandboxes.create();
    await bay.python.exec(sandbox.id, { code: "1" });
    const db = new (await import("bun:sqlite")).Database(join(daemon.dataDir, "bay.sqlite"), { readonly: true });
    const session = db.query("SELECT endpoint, token, container_id FROM sessions WHERE sandbox_id = ? AND status = 'running'").get(sandbox.id) as {
      endpoint: string;
      token: string;
      container_id: string;
    };
    db.close();
    const agent = (path: string, body: unknown) =>
      fetch(`${session.endpoint}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${session.token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      }).then((r) => r.arrayBuffer());
    const n = runs(300, 50);
    const viaBay = await repeat(n, () => bay.python.exec(sandbox.id, { code: "1+1" }));
    const direct = await repeat(n, () => agent("/ipython/exec", { code: "1+1", timeout: 30 }));
    const dockerExec = await repeat(runs(20, 5), async () => sh("docker", "exec", session.container_id, "python3", "-c", "1+1"));
    record("python/exec 1+1 through Bay", "ms", viaBay, { baseline: { name: "agent directly", samples: direct }, target: "median ≤ 2 ms, overhead ≤ 1 ms" });
    record("python/exec 1+1 through Bay vs docker exec", "ms", viaBay, { baseline: { name: "docker exec python3", samples: dockerExec }, target: "≥ 20× faster" });
    const shellBay = await repeat(n, () => bay.shell.exec(sandbox.id, { command: "true" }));
    const shellDirect = await repeat(n, () => agent("/shell/exec", { command: "true", timeout: 30 }));
    const shellDocker = await repeat(runs(20, 5), async () => sh("docker", "exec", session.container_id, "true"));
    record("shell/exec true through Bay", "ms", shellBay, { baseline: { name: "agent directly", samples: shellDirect } });
    record("shell/exec true through Bay vs docker exec", "ms", shellBay, { baseline: { name: "docker exec true", samples: shellDocker } });
    const e2bSandbox = await E2bSandbox.create(e2bOptions);
    await e2bSandbox.commands.run("true");
    const e2bRun = await repeat(n, () => e2bSandbox.commands.run("true"));
    record("E2B SDK: commands.run true", "ms", e2bRun, { baseline: { name: "Bay's API: shell/exec true", samples: shellBay }, target: "median ≤ 10 ms" });
    await e2bSandbox.kill();
    record("per-sandbox memory (agent + kernel)", "MB", [parseMemory(sh("docker", "stats", "--no-stream", "--format", "{{.MemUsage}}", session.container_id))]);

    // File round trips.
    for (const [label, size, count] of [["1 MiB", 1024 * 1024, runs(20, 5)], ["64 MiB", 64 * 1024 * 1024, runs(3, 1)]] as const) {
      const bytes = randomBytes(size);
      const samples = await repeat(count, async () => {
        await bay.files.upload(sandbox.id, "bench.bin", bytes);
        await bay.files.download(sandbox.id, "bench.bin");
      });
      record(`file upload + download ${label}`, "ms", samples);
    }

    // Throughput: many clients over 8 sandboxes.
    const pool = [sandbox.id];
    for (let i = 1; i < 8; i++) {
      const extra = (await bay.sandboxes.create()).id;
      await bay.python.exec(extra, { code: "1" });
      pool.push(extra);
    }
    const seconds = quick ? 2 : 5;
    let done = 0;
    let peakRss = 0;
    const until = Date.now() + seconds * 1000;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMb(daemon.pid))), 100);
    await Promise.all(
      Array.from({ length: 16 }, async (_, client) => {
        while (Date.now() < until) {
          await bay.python.exec(pool[client % pool.length]!, { code: "1+1" });
          done++;
        }
      }),
    );
    clearInterval(sampler);
    record("throughput: python/exec, 16 clients, 8 sandboxes", "exec/s", [done / seconds]);
    record("bay serve: RSS under load (peak)", "MB", [peakRss]);

    // RSS growth over many execs, after a warm-up that lets heap and allocator reach their working size.
    const execs = runs(10_000, 1000);
    const execMany = async (count: number) => {
      let left = count;
      await Promise.all(
        Array.from({ length: 4 }, async (_, client) => {
          while (left-- > 0) await bay.python.exec(pool[client]!, { code: "1" });
        }),
      );
    };
    await execMany(Math.ceil(execs / 2));
    const rssBefore = rssMb(daemon.pid);
    await execMany(execs);
    record(`bay serve: RSS growth over ${execs} execs (after warm-up)`, "MB", [rssMb(daemon.pid) - rssBefore], { target: "no growth" });
    for (const id of pool) await bay.sandboxes.delete(id);

    // Scale: many running sandboxes.
    const started = performance.now();
    const many: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < scale) {
          next++;
          const id = (await bay.sandboxes.create()).id;
          await bay.shell.exec(id, { command: "true" });
          many.push(id);
        }
      }),
    );
    record(`scale: start ${scale} running sandboxes (8 at a time)`, "s", [(performance.now() - started) / 1000]);
    record(`scale: bay serve RSS with ${scale} running sandboxes`, "MB", [rssMb(daemon.pid)]);
    for (const id of many) await bay.sandboxes.delete(id);
  } finally {
    await daemon.stop();
  }
  await replicaThroughput();
  await Bun.write(outFile, JSON.stringify({ date: new Date().toISOString(), image, quick, figures }, null, 2));
  console.log(`\nwritten: ${outFile}`);
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
    const throughput = async (work: (client: Bay, i: number) => Promise<unknown>) => {
      let done = 0;
      const until = Date.now() + seconds * 1000;
      await Promise.all(
        Array.from({ length: 16 }, async (_, i) => {
          while (Date.now() < until) {
            await work(clients[(i + done) % clients.length]!, i);
            done++;
          }
        }),
      );
      return done / seconds;
    };
    const created: string[] = [];
    const creates = await throughput(async (client) => created.push((await client.sandboxes.create()).id));
    for (const id of created) await clients[0]!.sandboxes.delete(id);
    const pool: string[] = [];
    for (let i = 0; i < 8; i++) {
      const id = (await clients[0]!.sandboxes.create()).id;
      await clients[0]!.python.exec(id, { code: "1" });
      pool.push(id);
    }
    const execs = await throughput((client, i) => client.python.exec(pool[i % pool.length]!, { code: "1+1" }));
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

function parseMemory(usage: string): number {
  const match = /^([\d.]+)\s*([KMG]i?B)/.exec(usage);
  if (!match) return NaN;
  const factor = { KiB: 1 / 1024, KB: 1 / 1024, MiB: 1, MB: 1, GiB: 1024, GB: 1024 }[match[2]!] ?? NaN;
  return Number(match[1]) * factor;
}

await main();
