/**
 * A walk through the API against the compiled binary: create a sandbox, run
 * stateful Python, stop it, see the workspace survive, delete it, and see
 * nothing left on the engine. Run through scripts/demo.sh.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { randomBytes } from "node:crypto";

const binary = resolve(import.meta.dir, "../dist/bay");
const dataDir = mkdtempSync(join(tmpdir(), "bay-demo-"));
const apiKey = `demo-${randomBytes(16).toString("hex")}`;
const image = process.env.BAY_DEFAULT_IMAGE ?? "bay-python:local";

const server = Bun.spawn([binary, "serve", "--port", "0", "--data-dir", dataDir], {
  env: { ...process.env, BAY_API_KEY: apiKey, BAY_DEFAULT_IMAGE: image },
  stdout: "pipe",
  stderr: "pipe",
});
let log = "";
void (async () => {
  for await (const chunk of server.stderr) log += new TextDecoder().decode(chunk);
})();
void (async () => {
  for await (const chunk of server.stdout) log += new TextDecoder().decode(chunk);
})();

async function baseUrl(): Promise<string> {
  for (let i = 0; i < 300; i++) {
    const match = /listening on (http:\/\/\S+?) /.exec(log);
    if (match) return match[1]!;
    await Bun.sleep(20);
  }
  throw new Error(`bay serve did not start:\n${log}`);
}

async function call(method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const parsed = text ? JSON.parse(text) : null;
  if (!response.ok) throw new Error(`${method} ${path} → ${response.status} ${text}`);
  return parsed;
}

function step(title: string) {
  console.log(`\n\x1b[1m▸ ${title}\x1b[0m`);
}

const url = await baseUrl();
let exitCode = 0;
try {
  step(`bay serve is up at ${url} (image ${image})`);
  console.log(await call("GET", "/health"));

  step("create a sandbox (compute starts lazily)");
  const sandbox = await call("POST", "/v1/sandboxes", { ttl: 600 });
  console.log(sandbox);

  step("first python/exec: starts the container and runs the code in one request");
  let started = performance.now();
  const first = await call("POST", `/v1/sandboxes/${sandbox.id}/python/exec`, {
    code: [
      "import csv, math",
      "primes = [n for n in range(2, 10_000) if all(n % d for d in range(2, math.isqrt(n) + 1))]",
      "with open('primes.csv', 'w', newline='') as f:",
      "    csv.writer(f).writerows([p] for p in primes)",
      "print(f'{len(primes)} primes below 10,000; the largest is {primes[-1]}')",
    ].join("\n"),
  });
  console.log(first.output.trim(), `(${Math.round(performance.now() - started)} ms including container start)`);

  step("the kernel keeps state between calls");
  started = performance.now();
  const second = await call("POST", `/v1/sandboxes/${sandbox.id}/python/exec`, { code: "sum(primes)" });
  console.log(`sum(primes) = ${second.output.trim()} (${Math.round(performance.now() - started)} ms)`);

  step("errors come back as a plain-text traceback, not an HTTP error");
  const failed = await call("POST", `/v1/sandboxes/${sandbox.id}/python/exec`, { code: "primes[10**6]" });
  console.log(`success=${failed.success}\n${failed.error.trim()}`);

  step("stop: the container goes, the workspace volume stays");
  console.log(await call("POST", `/v1/sandboxes/${sandbox.id}/stop`));
  const afterStop = await call("POST", `/v1/sandboxes/${sandbox.id}/python/exec`, {
    code: "import os\nprint(os.listdir('.'), sum(1 for _ in open('primes.csv')), 'rows')",
  });
  console.log(`after a fresh start: ${afterStop.output.trim()}`);

  step("delete: container and volume removed");
  await call("DELETE", `/v1/sandboxes/${sandbox.id}`);
  const left = Bun.spawnSync(["docker", "ps", "-aq", "--filter", `label=bay.sandbox_id=${sandbox.id}`]).stdout.toString().trim();
  const volumes = Bun.spawnSync(["docker", "volume", "ls", "-q", "--filter", `label=bay.sandbox_id=${sandbox.id}`]).stdout.toString().trim();
  console.log(`containers left: ${left ? left : "none"}; volumes left: ${volumes ? volumes : "none"}`);
  console.log("\nDemo finished: a real sandbox did real work.");
} catch (error) {
  console.error(`demo failed: ${(error as Error).message}\n--- bay serve log ---\n${log}`);
  exitCode = 1;
} finally {
  server.kill("SIGTERM");
  await server.exited;
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(exitCode);
