import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { useTestBay } from "../helpers/test-bay.ts";
import {
  containerExists,
  containersWithLabel,
  inspectContainer,
  inspectVolume,
  volumeExists,
  volumesWithLabel,
} from "../helpers/docker.ts";

// Real containers start here; each test gets room, and no test asserts speed.
setDefaultTimeout(60_000);

const bay = useTestBay();

const exec = (id: string, code: string, timeout?: number) =>
  bay.request("POST", `/v1/sandboxes/${id}/python/exec`, timeout === undefined ? { code } : { code, timeout });

describe("sandbox lifecycle on a real Docker engine", () => {
  let sandboxId: string;
  let cargoId: string;

  test("create answers 201 idle with prefixed ids and makes a labelled managed cargo volume", async () => {
    const response = await bay.request("POST", "/v1/sandboxes", {});
    expect(response.status).toBe(201);
    const sandbox = response.body;
    expect(sandbox.id).toMatch(/^sandbox-[0-9a-f]{12}$/);
    expect(sandbox.cargo_id).toMatch(/^ws-[0-9a-f]{12}$/);
    expect(sandbox.status).toBe("idle");
    expect(sandbox.profile).toBe("python-default");
    expect(sandbox.capabilities).toEqual(["filesystem", "shell", "python"]);
    expect(sandbox.expires_at).toBeNull();
    expect(sandbox.idle_expires_at).toBeNull();
    expect(Date.parse(sandbox.created_at)).toBeGreaterThan(0);
    sandboxId = sandbox.id;
    cargoId = sandbox.cargo_id;

    const volume = inspectVolume(`bay-cargo-${cargoId}`);
    expect(volume.Labels).toMatchObject({
      "bay.managed": "true",
      "bay.instance_id": bay.instanceId,
      "bay.owner": "tester",
      "bay.sandbox_id": sandboxId,
      "bay.cargo_id": cargoId,
      "bay.profile_id": "python-default",
    });
    // Compute starts lazily: nothing runs yet.
    expect(containersWithLabel(`bay.sandbox_id=${sandboxId}`)).toEqual([]);
  });

  test("the first python/exec starts the container and succeeds in one request", async () => {
    const response = await exec(sandboxId, "x = 41\nprint('hello from', 'bay')");
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ success: true, output: "hello from bay\n", error: null });
    expect(response.body.execution_id).toMatch(/^exec-[0-9a-f]{12}$/);
    expect(response.body.data.execution_count).toBe(1);
    expect(response.body.data.output).toEqual({ text: "hello from bay\n", images: [] });
    expect(typeof response.body.execution_time_ms).toBe("number");

    const sandbox = (await bay.request("GET", `/v1/sandboxes/${sandboxId}`)).body;
    expect(sandbox.status).toBe("ready");
    expect(Date.parse(sandbox.idle_expires_at)).toBeGreaterThan(Date.now());
  });

  test("the container is named and labelled per the contract, with the cargo at /workspace", () => {
    const [name] = containersWithLabel(`bay.sandbox_id=${sandboxId}`);
    expect(name).toMatch(/^bay-session-sess-[0-9a-f]{12}$/);
    const container = inspectContainer(name!);
    expect(container.Config.Labels).toMatchObject({
      "bay.managed": "true",
      "bay.instance_id": bay.instanceId,
      "bay.owner": "tester",
      "bay.sandbox_id": sandboxId,
      "bay.session_id": name!.replace("bay-session-", ""),
      "bay.cargo_id": cargoId,
      "bay.profile_id": "python-default",
    });
    const workspace = container.Mounts.find((m: any) => m.Destination === "/workspace");
    expect(workspace).toMatchObject({ Type: "volume", Name: `bay-cargo-${cargoId}`, RW: true });
    const agent = container.Mounts.find((m: any) => m.Destination === "/opt/bay/bay");
    expect(agent).toMatchObject({ Type: "bind", RW: false });
  });

  test("state persists between calls: x = 41 then x + 1 gives 42", async () => {
    const response = await exec(sandboxId, "x + 1");
    expect(response.body).toMatchObject({ success: true, output: "42\n" });
    expect(response.body.data.execution_count).toBe(2);
  });

  test("an exception is success:false with a plain-text traceback", async () => {
    const response = await exec(sandboxId, "def f():\n    return 1 / 0\nf()");
    expect(response.status).toBe(200);
    expect(response.body.success).toBe(false);
    expect(response.body.error).toContain("Traceback (most recent call last)");
    expect(response.body.error).toContain("ZeroDivisionError: division by zero");
    expect(response.body.error).not.toContain("\u001b[");
  });

  test("user code runs as an unprivileged user in /workspace", async () => {
    // Its groups: its own, 1000, and no supplementary group besides (an empty list or [1000]).
    const response = await exec(sandboxId, "import os\nprint(os.getuid(), os.getgid(), sorted(set(os.getgroups()) | {os.getgid()}), os.getcwd())");
    expect(response.body.output).toBe("1000 1000 [1000] /workspace\n");
  });

  test("a timeout interrupts the code and the kernel keeps its state", async () => {
    const response = await exec(sandboxId, "while True:\n    pass", 2);
    expect(response.status).toBe(200);
    expect(response.body.success).toBe(false);
    expect(response.body.error).toContain("timed out");
    expect((await exec(sandboxId, "x")).body.output).toBe("41\n");
  });

  test("a file written from Python survives stop, and stop is idempotent", async () => {
    expect((await exec(sandboxId, "open('notes.txt', 'w').write('kept across stops')")).body.success).toBe(true);
    const [name] = containersWithLabel(`bay.sandbox_id=${sandboxId}`);

    const stopped = await bay.request("POST", `/v1/sandboxes/${sandboxId}/stop`);
    expect(stopped).toMatchObject({ status: 200, body: { status: "stopped" } });
    expect(containerExists(name!)).toBe(false);
    expect(volumeExists(`bay-cargo-${cargoId}`)).toBe(true);
    expect((await bay.request("GET", `/v1/sandboxes/${sandboxId}`)).body).toMatchObject({ status: "idle", idle_expires_at: null });

    const again = await bay.request("POST", `/v1/sandboxes/${sandboxId}/stop`);
    expect(again).toMatchObject({ status: 200, body: { status: "stopped" } });

    const read = await exec(sandboxId, "open('notes.txt').read()");
    expect(read.body).toMatchObject({ success: true, output: "'kept across stops'\n" });
    // A new container, and a fresh kernel: x is gone.
    const [newName] = containersWithLabel(`bay.sandbox_id=${sandboxId}`);
    expect(newName).not.toBe(name);
    expect((await exec(sandboxId, "x")).body.error).toContain("NameError");
  });

  test("keepalive answers ok and never starts compute", async () => {
    const created = (await bay.request("POST", "/v1/sandboxes", {})).body;
    const response = await bay.request("POST", `/v1/sandboxes/${created.id}/keepalive`);
    expect(response).toMatchObject({ status: 200, body: { status: "ok" } });
    expect(containersWithLabel(`bay.sandbox_id=${created.id}`)).toEqual([]);
    expect((await bay.request("DELETE", `/v1/sandboxes/${created.id}`)).status).toBe(204);
  });

  test("keepalive pushes idle_expires_at forward on a running sandbox", async () => {
    const before = (await bay.request("GET", `/v1/sandboxes/${sandboxId}`)).body.idle_expires_at;
    await Bun.sleep(20);
    expect((await bay.request("POST", `/v1/sandboxes/${sandboxId}/keepalive`)).status).toBe(200);
    const after = (await bay.request("GET", `/v1/sandboxes/${sandboxId}`)).body.idle_expires_at;
    expect(Date.parse(after)).toBeGreaterThan(Date.parse(before));
  });

  test("the list shows own sandboxes in creation order, with a working cursor and status filter", async () => {
    const second = (await bay.request("POST", "/v1/sandboxes", {})).body;
    const third = (await bay.request("POST", "/v1/sandboxes", {})).body;
    const all = (await bay.request("GET", "/v1/sandboxes")).body;
    expect(all.items.map((s: any) => s.id)).toEqual([sandboxId, second.id, third.id]);
    expect(all.next_cursor).toBeNull();

    const first = (await bay.request("GET", "/v1/sandboxes?limit=2")).body;
    expect(first.items.map((s: any) => s.id)).toEqual([sandboxId, second.id]);
    const rest = (await bay.request("GET", `/v1/sandboxes?limit=2&cursor=${first.next_cursor}`)).body;
    expect(rest.items.map((s: any) => s.id)).toEqual([third.id]);
    expect(rest.next_cursor).toBeNull();

    const ready = (await bay.request("GET", "/v1/sandboxes?status=ready")).body;
    expect(ready.items.map((s: any) => s.id)).toEqual([sandboxId]);
    const idle = (await bay.request("GET", "/v1/sandboxes?status=idle")).body;
    expect(idle.items.map((s: any) => s.id)).toEqual([second.id, third.id]);

    for (const id of [second.id, third.id]) expect((await bay.request("DELETE", `/v1/sandboxes/${id}`)).status).toBe(204);
  });

  test("DELETE answers 204 and removes the container and the managed volume; GET is then 404; repeat is 204", async () => {
    const response = await bay.request("DELETE", `/v1/sandboxes/${sandboxId}`);
    expect(response.status).toBe(204);
    expect(response.body).toBeNull();
    expect(containersWithLabel(`bay.sandbox_id=${sandboxId}`)).toEqual([]);
    expect(volumeExists(`bay-cargo-${cargoId}`)).toBe(false);

    const get = await bay.request("GET", `/v1/sandboxes/${sandboxId}`);
    expect(get.status).toBe(404);
    expect(get.body.error.code).toBe("not_found");
    expect((await bay.request("DELETE", `/v1/sandboxes/${sandboxId}`)).status).toBe(204);
    expect((await exec(sandboxId, "1")).status).toBe(404);
    expect((await bay.request("GET", "/v1/sandboxes")).body.items).toEqual([]);
  });

  test("DELETE with Prefer: respond-async answers 202 with the sandbox gone, then removes its container and volume", async () => {
    const sandbox = (await bay.request("POST", "/v1/sandboxes", {})).body;
    expect((await exec(sandbox.id, "1")).status).toBe(200);
    expect(containersWithLabel(`bay.sandbox_id=${sandbox.id}`).length).toBe(1);
    const response = await bay.request("DELETE", `/v1/sandboxes/${sandbox.id}`, undefined, { prefer: "respond-async" });
    expect(response.status).toBe(202);
    expect((await bay.request("GET", `/v1/sandboxes/${sandbox.id}`)).status).toBe(404);
    expect((await exec(sandbox.id, "1")).status).toBe(404);
    for (let i = 0; i < 200 && (containersWithLabel(`bay.sandbox_id=${sandbox.id}`).length > 0 || volumeExists(`bay-cargo-${sandbox.cargo_id}`)); i++) {
      await Bun.sleep(100);
    }
    expect(containersWithLabel(`bay.sandbox_id=${sandbox.id}`)).toEqual([]);
    expect(volumeExists(`bay-cargo-${sandbox.cargo_id}`)).toBe(false);
    // A repeat is the plain delete of a deleted sandbox.
    expect((await bay.request("DELETE", `/v1/sandboxes/${sandbox.id}`, undefined, { prefer: "respond-async" })).status).toBe(202);
  });

  test("nothing of this instance is left on the engine", () => {
    expect(containersWithLabel(`bay.instance_id=${bay.instanceId}`)).toEqual([]);
    expect(volumesWithLabel(`bay.instance_id=${bay.instanceId}`)).toEqual([]);
  });
});

describe("compute that goes away underneath Bay", () => {
  test("parallel first calls on a cold sandbox start exactly one container and all succeed", async () => {
    const sandbox = (await bay.request("POST", "/v1/sandboxes", {})).body;
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => exec(sandbox.id, `${i} * 2`)));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(results.map((r) => r.body.output).sort()).toEqual(["0\n", "10\n", "2\n", "4\n", "6\n", "8\n"]);
    expect(containersWithLabel(`bay.sandbox_id=${sandbox.id}`).length).toBe(1);
    expect((await bay.request("DELETE", `/v1/sandboxes/${sandbox.id}`)).status).toBe(204);
  });

  test("a killed container is replaced by the very next call, on the same cargo, and the reset is visible", async () => {
    // This Bay follows no engine events: the call itself finds the container gone and retries on a new one.
    const sandbox = (await bay.request("POST", "/v1/sandboxes", {})).body;
    expect((await exec(sandbox.id, "open('kept.txt', 'w').write('data')\nvalue = 7")).body.success).toBe(true);
    const [name] = containersWithLabel(`bay.sandbox_id=${sandbox.id}`);
    Bun.spawnSync(["docker", "kill", name!]);

    const after = await exec(sandbox.id, "open('kept.txt').read()");
    expect(after.status).toBe(200);
    expect(after.body).toMatchObject({ success: true, output: "'data'\n", kernel_restarted: true });
    expect((await exec(sandbox.id, "'value' in globals()")).body.output).toBe("False\n");
    const view = (await bay.request("GET", `/v1/sandboxes/${sandbox.id}`)).body;
    expect(view.status).toBe("ready");
    expect(Date.parse(view.state_reset_at)).toBeGreaterThan(Date.parse(sandbox.created_at));
    expect(view.state_reset_reason).toContain("137");
    const containers = containersWithLabel(`bay.sandbox_id=${sandbox.id}`);
    expect(containers.length).toBe(1);
    expect(containers).not.toContain(name);
    expect((await bay.request("DELETE", `/v1/sandboxes/${sandbox.id}`)).status).toBe(204);
    expect(containersWithLabel(`bay.sandbox_id=${sandbox.id}`)).toEqual([]);
  });

});
