/**
 * E2B's own SDK, unchanged, against Bay's E2B front door (control API): both
 * create dialects (e2b 2.50 posts /sandboxes, 2.51 /v2/sandboxes), getInfo,
 * list with metadata and paging, setTimeout, pause and connect, kill, and the
 * errors the SDK turns into its own exceptions. A real `bay serve` on Docker.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import * as sdk251 from "e2b";
import * as sdk250 from "e2b-2-50";
import { useServeProcess } from "../helpers/serve-process.ts";
import { containerExists, containersWithLabel } from "../helpers/docker.ts";

// A real daemon; a connect starts a real container. Nothing here asserts speed.
setDefaultTimeout(120_000);

const API_KEY = "e2b-front-door-key-0123456789";
const OTHER_KEY = "e2b-front-door-other-0123456789";
const server = useServeProcess({
  BAY_E2B__ENABLED: "true",
  BAY_SECURITY__API_KEYS: JSON.stringify([
    { key: API_KEY, owner: "alice" },
    { key: OTHER_KEY, owner: "bob" },
  ]),
});

/** Bay's own API, to see what the front door did. */
async function bay(method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${API_KEY}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return response.json();
}

// Both versions share one API surface: the 2.50 module is typed as the 2.51 one.
const versions: [string, typeof sdk251][] = [["2.50", sdk250 as unknown as typeof sdk251], ["2.51", sdk251]];
for (const [version, e2b] of versions) {
  describe(`e2b ${version}`, () => {
    const options = () => ({ apiUrl: `${server.url}/e2b`, apiKey: API_KEY });

    test("create with no arguments maps to Bay's default profile; metadata, envVars and timeout arrive as Bay's own", async () => {
      const before = Date.now();
      const sandbox = await e2b.Sandbox.create({ ...options(), metadata: { suite: "e2b", version }, envs: { FROM_E2B: `hello ${version}` }, timeoutMs: 120_000 });
      const view = await bay("GET", `/v1/sandboxes/${sandbox.sandboxId}`);
      expect(view).toMatchObject({ id: sandbox.sandboxId, profile: "python-default", metadata: { suite: "e2b", version } });
      const expires = Date.parse(view.expires_at);
      expect(expires).toBeGreaterThanOrEqual(before + 119_000);
      expect(expires).toBeLessThanOrEqual(Date.now() + 121_000);
      const echoed = await bay("POST", `/v1/sandboxes/${sandbox.sandboxId}/shell/exec`, { command: "echo $FROM_E2B" });
      expect(echoed.output).toBe(`hello ${version}\n`);

      const info = await sandbox.getInfo();
      expect(info).toMatchObject({ sandboxId: sandbox.sandboxId, templateId: "python-default", metadata: { suite: "e2b", version }, state: "running" });
      expect(info.startedAt.getTime()).toBe(Date.parse(view.created_at));
      expect(info.endAt.getTime()).toBe(expires);
      expect(await sandbox.kill()).toBe(true);
    });

    test("setTimeout shortens or lengthens the sandbox's life; list filters on metadata and pages with x-next-token", async () => {
      const tag = `list-${version}-${Date.now()}`;
      const first = await e2b.Sandbox.create({ ...options(), metadata: { tag } });
      const second = await e2b.Sandbox.create({ ...options(), metadata: { tag, "odd key&": "v=1 2" } });
      await first.setTimeout(30_000);
      expect(Math.abs(Date.parse((await bay("GET", `/v1/sandboxes/${first.sandboxId}`)).expires_at) - (Date.now() + 30_000))).toBeLessThan(5_000);

      const seen: string[] = [];
      const paginator = e2b.Sandbox.list({ ...options(), query: { metadata: { tag } }, limit: 1 });
      while (paginator.hasNext) for (const item of await paginator.nextItems()) seen.push(item.sandboxId);
      expect(seen.sort()).toEqual([first.sandboxId, second.sandboxId].sort());
      const odd = await e2b.Sandbox.list({ ...options(), query: { metadata: { "odd key&": "v=1 2" } } }).nextItems();
      expect(odd.map((item) => item.sandboxId)).toEqual([second.sandboxId]);
      for (const sandbox of [first, second]) await sandbox.kill();
    });

    test("pause is Bay's stop (a second pause says so); connect resumes it with its files", async () => {
      const sandbox = await e2b.Sandbox.create(options());
      await bay("POST", `/v1/sandboxes/${sandbox.sandboxId}/shell/exec`, { command: "echo kept > kept.txt" });
      expect(await e2b.Sandbox.pause(sandbox.sandboxId, options())).toBe(true);
      expect((await sandbox.getInfo()).state).toBe("paused");
      expect((await bay("GET", `/v1/sandboxes/${sandbox.sandboxId}`)).status).toBe("idle");
      expect(await e2b.Sandbox.pause(sandbox.sandboxId, options())).toBe(false);

      const resumed = await e2b.Sandbox.connect(sandbox.sandboxId, options());
      expect(resumed.sandboxId).toBe(sandbox.sandboxId);
      expect((await resumed.getInfo()).state).toBe("running");
      expect((await bay("GET", `/v1/sandboxes/${sandbox.sandboxId}`)).status).toBe("ready");
      expect((await bay("POST", `/v1/sandboxes/${sandbox.sandboxId}/shell/exec`, { command: "cat kept.txt" })).output).toBe("kept\n");
      expect(await resumed.kill()).toBe(true);
    });

    test("kill answers once the sandbox is gone from the API; its container is removed after the answer", async () => {
      const sandbox = await e2b.Sandbox.create(options());
      // Its container, started through Bay's own API (this file's SDK options name no sandbox address).
      expect((await bay("POST", `/v1/sandboxes/${sandbox.sandboxId}/shell/exec`, { command: "true" })).exit_code).toBe(0);
      const [container] = containersWithLabel(`bay.sandbox_id=${sandbox.sandboxId}`);
      expect(container).toBeDefined();
      const since = Math.floor(Date.now() / 1000) - 1;
      expect(await sandbox.kill()).toBe(true);
      const answeredAtNs = BigInt(Date.now()) * 1_000_000n;
      expect((await fetch(`${server.url}/v1/sandboxes/${sandbox.sandboxId}`, { headers: { authorization: `Bearer ${API_KEY}` } })).status).toBe(404);
      for (let waited = 0; waited < 30_000 && containerExists(container!); waited += 100) await Bun.sleep(100);
      expect(containerExists(container!)).toBe(false);
      const destroyed = Bun.spawnSync(
        ["docker", "events", "--since", String(since), "--until", String(Math.ceil(Date.now() / 1000) + 1), "--filter", `container=${container}`, "--filter", "event=destroy", "--format", "{{.TimeNano}}"],
        { stdout: "pipe" },
      ).stdout.toString().trim();
      expect(destroyed).toMatch(/^\d+$/);
      expect(BigInt(destroyed) > answeredAtNs).toBe(true);
    });

    test("errors become the SDK's own: not found, a second kill, a wrong key, another owner's sandbox, an unknown template", async () => {
      await expect(e2b.Sandbox.getInfo("sandbox-000000000000", options())).rejects.toBeInstanceOf(e2b.SandboxNotFoundError);
      const sandbox = await e2b.Sandbox.create(options());
      await expect(e2b.Sandbox.getInfo(sandbox.sandboxId, { ...options(), apiKey: OTHER_KEY })).rejects.toBeInstanceOf(e2b.SandboxNotFoundError);
      expect(await e2b.Sandbox.kill(sandbox.sandboxId, { ...options(), apiKey: OTHER_KEY })).toBe(false);
      await expect(e2b.Sandbox.create({ ...options(), apiKey: "not-a-key-of-this-bay" })).rejects.toBeInstanceOf(e2b.AuthenticationError);
      await expect(e2b.Sandbox.create("no-such-template", options())).rejects.toThrow(/template no-such-template not found/);
      expect(await sandbox.kill()).toBe(true);
      expect(await sandbox.kill()).toBe(false);
    });
  });
}
