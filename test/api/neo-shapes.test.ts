import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { expectErrorShape, MEMORY_IMAGE, useMemoryBay } from "../helpers/memory-bay.ts";
import { VERSION } from "../../src/shared/version.ts";

// What shipyard-neo's clients read (docs/compatibility.md), on the in-memory driver: shapes need no engine.
setDefaultTimeout(60_000);

const bay = useMemoryBay();

async function newSandbox(body: Record<string, unknown> = {}): Promise<string> {
  const created = await bay.request("POST", "/v1/sandboxes", body);
  expect(created.status).toBe(201);
  return created.body.id;
}

async function runPython(id: string): Promise<void> {
  expect((await bay.request("POST", `/v1/sandboxes/${id}/python/exec`, { code: "1" })).status).toBe(200);
}

describe("the sandbox lists its containers as shipyard-neo does", () => {
  test("none while idle; the ship container with the runtime version from its handshake once started; none after stop", async () => {
    const id = await newSandbox();
    expect((await bay.request("GET", `/v1/sandboxes/${id}`)).body.containers).toEqual([]);

    await runPython(id);
    const expected = [
      {
        name: "ship",
        runtime_type: "ship",
        image: MEMORY_IMAGE,
        status: "running",
        version: VERSION,
        capabilities: ["filesystem", "shell", "python"],
        healthy: true,
      },
    ];
    expect((await bay.request("GET", `/v1/sandboxes/${id}`)).body.containers).toEqual(expected);
    const listed = (await bay.request("GET", "/v1/sandboxes")).body.items.find((s: { id: string }) => s.id === id);
    expect(listed.containers).toEqual(expected);

    expect((await bay.request("POST", `/v1/sandboxes/${id}/stop`)).status).toBe(200);
    expect((await bay.request("GET", `/v1/sandboxes/${id}`)).body.containers).toEqual([]);
  });
});

describe("a cargo names its backend", () => {
  test("docker_volume on create, get and list, managed or external", async () => {
    const external = await bay.request("POST", "/v1/cargos", {});
    expect(external.status).toBe(201);
    expect(external.body.backend).toBe("docker_volume");
    expect((await bay.request("GET", `/v1/cargos/${external.body.id}`)).body.backend).toBe("docker_volume");

    const sandboxId = await newSandbox();
    const cargoId = (await bay.request("GET", `/v1/sandboxes/${sandboxId}`)).body.cargo_id;
    const managed = (await bay.request("GET", `/v1/cargos/${cargoId}`)).body;
    expect({ managed: managed.managed, backend: managed.backend }).toEqual({ managed: true, backend: "docker_volume" });
    const page = (await bay.request("GET", "/v1/cargos")).body.items as { backend: string }[];
    expect(page.length).toBeGreaterThan(0);
    expect(new Set(page.map((cargo) => cargo.backend))).toEqual(new Set(["docker_volume"]));
  });
});

describe("POST /v1/admin/gc/run honours tasks", () => {
  test("only the named tasks run, reported under the names asked for (Bay's or shipyard-neo's)", async () => {
    await runPython(await newSandbox());
    const neo = await bay.request("POST", "/v1/admin/gc/run", { tasks: ["orphan_container"] });
    expect(neo.status).toBe(200);
    // The running sandbox's container is looked at and left alone.
    expect(neo.body.results).toEqual([{ task_name: "orphan_container", cleaned_count: 0, skipped_count: 1, errors: [] }]);
    expect(neo.body.total_cleaned).toBe(0);
    expect(neo.body.total_errors).toBe(0);

    const bays = await bay.request("POST", "/v1/admin/gc/run", { tasks: ["expired_idempotency_keys", "idle_sessions"] });
    // In the collector's order, not the request's.
    expect(bays.body.results.map((r: { task_name: string }) => r.task_name)).toEqual(["idle_sessions", "expired_idempotency_keys"]);
  });

  test("no body, an empty body or tasks null run every task", async () => {
    const all = ["idle_sessions", "expired_sandboxes", "lost_sessions", "orphan_containers", "orphan_cargos", "cargo_size_limits", "expired_idempotency_keys"];
    for (const body of [undefined, {}, { tasks: null }]) {
      const run = await bay.request("POST", "/v1/admin/gc/run", body);
      expect({ body, status: run.status, tasks: run.body.results?.map((r: { task_name: string }) => r.task_name) }).toEqual({ body, status: 200, tasks: all });
    }
  });

  test("an unknown task name is 422 validation_error naming it, and nothing runs", async () => {
    const before = (await bay.request("GET", "/v1/admin/gc/status")).body.last_run_at;
    const error = expectErrorShape(await bay.request("POST", "/v1/admin/gc/run", { tasks: ["idle_session", "defrag"] }), 422, "validation_error");
    expect(error.details).toMatchObject({ field: "tasks", unknown: ["defrag"] });
    expect(error.message).toContain('"defrag"');
    expect((await bay.request("GET", "/v1/admin/gc/status")).body.last_run_at).toBe(before);
    expectErrorShape(await bay.request("POST", "/v1/admin/gc/run", { tasks: "idle_session" }), 422, "validation_error");
  });

  test("gc/status carries the instance id and each task, as shipyard-neo's does", async () => {
    const status = (await bay.request("GET", "/v1/admin/gc/status")).body;
    expect(status.instance_id).toBe(bay.instanceId);
    expect(Object.keys(status.tasks)).toContain("orphan_containers");
    expect(status.tasks.idle_sessions).toEqual({ enabled: expect.any(Boolean) });
  });
});
