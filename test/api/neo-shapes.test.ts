import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { expectErrorShape, MEMORY_IMAGE, openTestBay, useBayFrom, useMemoryBay } from "../helpers/memory-bay.ts";
import { MemoryDriver } from "../drivers/memory-driver.ts";
import { VERSION } from "../../src/shared/version.ts";
import { CAPABILITIES } from "../../src/composition/registry.ts";
import { capabilityTools } from "../../src/mcp/tools.ts";

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

describe("profiles with ?detail=true list their containers", () => {
  test("the ship container with the profile's capabilities and resources; none without detail", async () => {
    const detailed = (await bay.request("GET", "/v1/profiles?detail=true", undefined, { authorization: "" })).body.items[0];
    expect(detailed.containers).toEqual([
      { name: "ship", runtime_type: "ship", capabilities: detailed.capabilities, resources: detailed.resources },
    ]);
    expect(detailed.capabilities.length).toBeGreaterThan(0);
    for (const query of ["", "?detail=false"]) {
      expect("containers" in (await bay.request("GET", `/v1/profiles${query}`)).body.items[0]).toBe(false);
    }
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
    const all = ["idle_sessions", "expired_sandboxes", "lost_sessions", "orphan_containers", "orphan_session_directories", "orphan_cargos", "cargo_size_limits", "expired_idempotency_keys"];
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

describe("python and shell take shipyard-neo's history fields", () => {
  /** What the fake agent was asked to run, by route. */
  const agentBodies: Record<string, unknown[]> = { python: [], shell: [] };
  const recording = (kind: string, answer: Record<string, unknown>) => async (request: Request) => {
    agentBodies[kind]!.push(await request.json());
    return Response.json(answer);
  };
  const neoBay = useBayFrom(() =>
    openTestBay({
      image: MEMORY_IMAGE,
      agentBinaryPath: process.execPath,
      driver: () =>
        new MemoryDriver({
          agentRoutes: {
            "POST /ipython/exec": recording("python", {
              success: true,
              output: "2\n",
              error: null,
              data: { execution_count: 1, output: { text: "2", images: [] } },
              execution_time_ms: 1,
            }),
            "POST /shell/exec": recording("shell", { success: true, output: "hi\n", error: "", exit_code: 0, execution_time_ms: 1 }),
          },
        }),
      removeObjects: async () => undefined,
    }),
  );

  test("include_code echoes the code or command; description and tags are accepted; the agent gets only what it runs", async () => {
    const id = (await neoBay.request("POST", "/v1/sandboxes", {})).body.id;
    const python = await neoBay.request("POST", `/v1/sandboxes/${id}/python/exec`, {
      code: "1 + 1",
      timeout: 30,
      include_code: true,
      description: "adds",
      tags: "math,demo",
    });
    expect(python.status).toBe(200);
    expect(python.body).toMatchObject({ success: true, output: "2\n", code: "1 + 1", execution_id: expect.stringMatching(/^exec-/) });
    const withoutCode = await neoBay.request("POST", `/v1/sandboxes/${id}/python/exec`, { code: "1 + 1", include_code: false, description: null });
    expect(withoutCode.status).toBe(200);
    expect("code" in withoutCode.body).toBe(false);

    const shell = await neoBay.request("POST", `/v1/sandboxes/${id}/shell/exec`, { command: "echo hi", include_code: true, tags: "t" });
    expect(shell.status).toBe(200);
    expect(shell.body).toMatchObject({ exit_code: 0, command: "echo hi" });

    expect(agentBodies).toEqual({
      python: [
        { code: "1 + 1", timeout: 30 },
        { code: "1 + 1", timeout: 30 },
      ],
      shell: [{ command: "echo hi", timeout: 30 }],
    });
  });

  test("bay mcp's tools do not offer them: they are for shipyard-neo's clients", () => {
    const tools = Object.fromEntries(capabilityTools(CAPABILITIES).map((tool) => [tool.name, Object.keys(tool.inputSchema.properties).sort()]));
    expect({ run_python: tools.run_python, run_shell: tools.run_shell }).toEqual({
      run_python: ["code", "context_id", "sandbox_id", "timeout"],
      run_shell: ["command", "cwd", "env", "sandbox_id", "timeout"],
    });
  });

  test("include_code must be a boolean, description and tags strings", async () => {
    const id = (await neoBay.request("POST", "/v1/sandboxes", {})).body.id;
    const python = expectErrorShape(await neoBay.request("POST", `/v1/sandboxes/${id}/python/exec`, { code: "1", include_code: "yes" }), 422, "validation_error");
    expect(python.details.field).toBe("include_code");
    const shell = expectErrorShape(await neoBay.request("POST", `/v1/sandboxes/${id}/shell/exec`, { command: "true", tags: ["a"] }), 422, "validation_error");
    expect(shell.details.field).toBe("tags");
  });
});
