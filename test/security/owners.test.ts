/**
 * Owners do not blur: callers without a key (allow_anonymous) are their own
 * owner, never the owner of the BAY_API_KEY admin key and never admin; and
 * the data directory, which holds API keys and live agent tokens, is forced
 * to 0700 with its files 0600 at every start.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { Database } from "bun:sqlite";
import { chmodSync, existsSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cliResources, runBay, spawnBay, type BayRun } from "../helpers/cli.ts";
import { startServeProcess } from "../helpers/serve-process.ts";
import { expectErrorShape, OWNER_KEYS, type TestResponse, useTestBay } from "../helpers/test-bay.ts";

setDefaultTimeout(120_000);

const ADMIN_KEY = "admin-key-of-owner-default-0123";

const bay = useTestBay({
  env: { BAY_API_KEY: ADMIN_KEY },
  config: { security: { allow_anonymous: true, api_keys: [{ key: OWNER_KEYS.alice, owner: "alice" }] } },
});
const resources = cliResources("bay-owners");
const dataDirOf = (env: Record<string, string>) => env.BAY_DATA_DIR!;

/** A request with no Authorization header at all. */
async function anonymous(method: string, path: string, body?: unknown): Promise<TestResponse> {
  const response = await bay.app.handle(
    new Request(`http://localhost${path}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  );
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
}

/** Runs `bay serve`, which must refuse to start; killed (and the test failed) if it starts instead. */
async function serveRefusal(env: Record<string, string>): Promise<BayRun> {
  const child = spawnBay(["serve", "--port", "0"], env);
  await child.stdin.end();
  let timer: Timer | undefined;
  const started = new Promise<"running">((resolve) => (timer = setTimeout(() => resolve("running"), 30_000)));
  const outcome = await Promise.race([child.exited, started]);
  clearTimeout(timer);
  if (outcome === "running") child.kill("SIGKILL");
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  expect(outcome).not.toBe("running");
  return { exitCode, stdout, stderr };
}

const admin = (method: string, path: string, body?: unknown) => bay.request(method, path, body, { authorization: `Bearer ${ADMIN_KEY}` });
const listedIds = (response: TestResponse): string[] => response.body.items.map((item: { id: string }) => item.id);

describe("anonymous callers", () => {
  test("are their own owner: the admin key's owner (default) and they cannot see each other's sandboxes", async () => {
    const mine = await anonymous("POST", "/v1/sandboxes", {});
    expect(mine.status).toBe(201);
    const admins = await admin("POST", "/v1/sandboxes", {});
    expect(admins.status).toBe(201);

    expectErrorShape(await admin("GET", `/v1/sandboxes/${mine.body.id}`), 404, "not_found");
    expectErrorShape(await admin("DELETE", `/v1/sandboxes/${mine.body.id}`), 404, "not_found");
    expectErrorShape(await anonymous("GET", `/v1/sandboxes/${admins.body.id}`), 404, "not_found");
    expect(listedIds(await admin("GET", "/v1/sandboxes"))).toEqual([admins.body.id]);
    expect(listedIds(await anonymous("GET", "/v1/sandboxes"))).toEqual([mine.body.id]);
    expect(bay.core.db.$client.query("SELECT owner FROM sandboxes WHERE id = ?").get(mine.body.id)).toEqual({ owner: "anonymous" });
  });

  test("are never admin", async () => {
    for (const [method, path] of [
      ["GET", "/v1/admin/gc/status"],
      ["POST", "/v1/admin/gc/run"],
    ] as const) {
      expectErrorShape(await anonymous(method, path), 403, "forbidden");
    }
    expect((await admin("GET", "/v1/admin/gc/status")).status).toBe(200);
  });

  test("are only those without any key: a wrong or malformed key is 401, not anonymous", async () => {
    for (const authorization of ["Bearer not-a-key-0123456789", "Basic YWxpY2U6eA==", "Bearer", OWNER_KEYS.alice]) {
      expectErrorShape(await bay.request("GET", "/v1/sandboxes", undefined, { authorization }), 401, "unauthorized");
    }
  });

  test("bay serve refuses a key that names the anonymous owner, naming the key", async () => {
    const { env } = resources.newInstance();
    const keys = JSON.stringify([
      { key: OWNER_KEYS.alice, owner: "alice" },
      { key: OWNER_KEYS.bob, owner: "anonymous" },
    ]);
    const run = await serveRefusal({ ...env, BAY_SECURITY__API_KEYS: keys, BAY_SECURITY__ALLOW_ANONYMOUS: "true" });
    expect(run.exitCode).toBe(2);
    expect(run.stderr + run.stdout).toContain('"security.api_keys.1.owner"');
    expect(run.stderr + run.stdout).toContain('"anonymous" is reserved');
  });

  test("embedded CLI mode keeps its documented owner, default", async () => {
    const { env } = resources.newInstance();
    const run = await runBay(["sandbox", "create", "--json"], env);
    expect(run.exitCode).toBe(0);
    const id = JSON.parse(run.stdout).id;
    const db = new Database(join(dataDirOf(env), "bay.sqlite"), { readonly: true });
    expect(db.query("SELECT owner FROM sandboxes WHERE id = ?").get(id)).toEqual({ owner: "default" });
    db.close();
  });
});

describe("the data directory", () => {
  const modeOf = (path: string) => (statSync(path).mode & 0o777).toString(8);
  /** Regular files only: sockets and directories Bay keeps there are reached through the 0700 directory. */
  const filesIn = (dir: string) => readdirSync(dir).filter((name) => statSync(join(dir, name)).isFile());
  const modesIn = (dir: string) => Object.fromEntries(filesIn(dir).map((name) => [name, modeOf(join(dir, name))]));

  test("is forced to 0700 and its files to 0600 at every start, even when they exist with looser modes", async () => {
    const { env, instanceId } = resources.newInstance();
    const dataDir = dataDirOf(env);
    const generatedKey = "bay_key-left-readable-by-everyone";
    // As an older Bay, a restore or a careless operator left them: world-readable keys and database.
    chmodSync(dataDir, 0o777);
    writeFileSync(join(dataDir, "bay.sqlite"), "", { mode: 0o644 });
    writeFileSync(join(dataDir, "api_key"), `${generatedKey}\n`, { mode: 0o644 });
    writeFileSync(join(dataDir, "instance_id"), `${instanceId}\n`, { mode: 0o644 });
    const { BAY_INSTANCE_ID: _fromFile, ...serveEnv } = env;

    const loosen = () => {
      chmodSync(dataDir, 0o777);
      for (const name of filesIn(dataDir)) chmodSync(join(dataDir, name), 0o666);
    };
    const expectPrivate = () => {
      expect(modeOf(dataDir)).toBe("700");
      expect(modesIn(dataDir)).toEqual({
        "api_key": "600",
        "instance_id": "600",
        "bay.sqlite": "600",
        "bay.sqlite-wal": "600",
        "bay.sqlite-shm": "600",
      });
    };

    for (const round of [1, 2]) {
      if (round === 2) loosen();
      const daemon = resources.track(await startServeProcess(serveEnv));
      expectPrivate();
      // The files Bay found are the ones it uses: the stored key works, and the stored instance id is kept.
      const answer = await fetch(`${daemon.url}/v1/sandboxes`, { headers: { authorization: `Bearer ${generatedKey}` } });
      expect(answer.status).toBe(200);
      expect(daemon.output()).toContain(`instance ${instanceId}`);
      expectPrivate();
      expect(await daemon.stop()).toBe(0);
    }
  });

  test("a new data dir is created 0700, and files Bay writes there are 0600", async () => {
    const { env } = resources.newInstance();
    const dataDir = join(dataDirOf(env), "nested", "data");
    const daemon = resources.track(await startServeProcess({ ...env, BAY_DATA_DIR: dataDir }));
    expect(modeOf(dataDir)).toBe("700");
    expect(existsSync(join(dataDir, "api_key"))).toBe(true);
    expect(Object.values(modesIn(dataDir)).every((mode) => mode === "600")).toBe(true);
    expect(await daemon.stop()).toBe(0);
  });

  test("a symbolic link in place of one of its files stops Bay, with the path named", async () => {
    const { env } = resources.newInstance();
    const target = join(resources.scratchDir("bay-owners-elsewhere-"), "secret");
    writeFileSync(target, "not Bay's\n", { mode: 0o644 });
    symlinkSync(target, join(dataDirOf(env), "api_key"));
    const run = await serveRefusal(env);
    expect(run.exitCode).not.toBe(0);
    expect(run.stderr + run.stdout).toContain("symbolic link");
    expect(modeOf(target)).toBe("644");
  });
});
