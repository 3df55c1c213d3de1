import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import {
  authorizationOf,
  expectErrorShape,
  expectFieldErrors,
  OWNER_KEYS,
  type TestOwner,
  type TestResponse,
  THREE_OWNERS_CONFIG,
  useTestBay,
} from "../helpers/test-bay.ts";
import { containersWithLabel, inspectContainer, inspectVolume, volumeExists, volumesWithLabel } from "../helpers/docker.ts";

// Real containers start here; each test gets room, and no test asserts speed.
setDefaultTimeout(60_000);

type Owner = TestOwner;

const bay = useTestBay({ config: THREE_OWNERS_CONFIG });

/** One request as `owner` (tester unless told otherwise). */
const as = (owner: Owner, method: string, path: string, body?: unknown) =>
  bay.request(method, path, body, authorizationOf(owner));

const api = (owner: Owner = "tester") => ({
  createCargo: (body?: unknown) => as(owner, "POST", "/v1/cargos", body),
  getCargo: (id: string) => as(owner, "GET", `/v1/cargos/${id}`),
  deleteCargo: (id: string) => as(owner, "DELETE", `/v1/cargos/${id}`),
  listCargos: (query = "") => as(owner, "GET", `/v1/cargos${query}`),
  createSandbox: (body: unknown = {}) => as(owner, "POST", "/v1/sandboxes", body),
  getSandbox: (id: string) => as(owner, "GET", `/v1/sandboxes/${id}`),
  deleteSandbox: (id: string) => as(owner, "DELETE", `/v1/sandboxes/${id}`),
  listSandboxes: () => as(owner, "GET", "/v1/sandboxes?limit=200"),
  shell: (id: string, command: string) => as(owner, "POST", `/v1/sandboxes/${id}/shell/exec`, { command }),
});
const tester = api("tester");

/** Creates a cargo and returns it, failing the test on anything but 201. */
async function newCargo(owner: Owner = "tester", body: unknown = {}): Promise<any> {
  const response = await api(owner).createCargo(body);
  expect(response.status).toBe(201);
  return response.body;
}

async function newSandbox(owner: Owner = "tester", body: unknown = {}): Promise<any> {
  const response = await api(owner).createSandbox(body);
  expect(response.status).toBe(201);
  return response.body;
}

async function deleteSandboxes(ids: string[], owner: Owner = "tester"): Promise<void> {
  for (const id of ids) expect((await api(owner).deleteSandbox(id)).status).toBe(204);
}

/** Runs a shell command that must succeed and returns its stdout. */
async function sh(sandboxId: string, command: string, owner: Owner = "tester"): Promise<string> {
  const response = await api(owner).shell(sandboxId, command);
  expect(response.status).toBe(200);
  expect(response.body).toMatchObject({ success: true, exit_code: 0 });
  return response.body.output;
}

const ids = (response: TestResponse): string[] => response.body.items.map((item: any) => item.id);
const volumeOf = (cargoId: string) => `bay-cargo-${cargoId}`;

/** The volume mounted at /workspace in the (single) container of a sandbox. */
function workspaceMount(sandboxId: string): any {
  const containers = containersWithLabel(`bay.sandbox_id=${sandboxId}`);
  expect(containers.length).toBe(1);
  return inspectContainer(containers[0]!).Mounts.find((m: any) => m.Destination === "/workspace");
}

/** Every page of a list, following next_cursor; fails on a repeated cursor. */
async function allPages(owner: Owner, path: string, limit: number): Promise<{ pages: string[][]; items: string[] }> {
  const pages: string[][] = [];
  const cursors = new Set<string>();
  let cursor: string | null = null;
  do {
    const sep = path.includes("?") ? "&" : "?";
    const response = await as(owner, "GET", `${path}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`);
    expect(response.status).toBe(200);
    expect(response.body.items.length).toBeLessThanOrEqual(limit);
    pages.push(ids(response));
    cursor = response.body.next_cursor;
    if (cursor !== null) {
      expect(cursors.has(cursor)).toBe(false);
      cursors.add(cursor);
    }
  } while (cursor !== null);
  return { pages, items: pages.flat() };
}

describe("cargo create, get and list", () => {
  test("POST /v1/cargos answers 201 with an external cargo and makes a labelled volume", async () => {
    const before = Date.now();
    const response = await tester.createCargo({});
    expect(response.status).toBe(201);
    const cargo = response.body;
    expect(cargo).toEqual({
      id: expect.stringMatching(/^ws-[0-9a-f]{12}$/),
      managed: false,
      managed_by_sandbox_id: null,
      backend: "docker_volume",
      size_limit_mb: 1024,
      created_at: expect.any(String),
      last_accessed_at: expect.any(String),
    });
    expect(cargo.created_at).toMatch(/Z$/);
    expect(Date.parse(cargo.created_at)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(cargo.last_accessed_at)).toBeGreaterThanOrEqual(Date.parse(cargo.created_at));

    expect(inspectVolume(volumeOf(cargo.id)).Labels).toMatchObject({
      "bay.managed": "true",
      "bay.instance_id": bay.instanceId,
      "bay.owner": "tester",
      "bay.cargo_id": cargo.id,
    });
    expect((await tester.getCargo(cargo.id)).body).toEqual(cargo);
    expect((await tester.deleteCargo(cargo.id)).status).toBe(204);
  });

  test("a given size_limit_mb is kept, and a body-less create uses the default", async () => {
    const sized = await newCargo("tester", { size_limit_mb: 2048 });
    expect(sized.size_limit_mb).toBe(2048);
    expect((await tester.getCargo(sized.id)).body.size_limit_mb).toBe(2048);
    for (const edge of [1, 65536]) expect((await newCargo("tester", { size_limit_mb: edge })).size_limit_mb).toBe(edge);

    const bodyless = await tester.createCargo();
    expect(bodyless.status).toBe(201);
    expect(bodyless.body.size_limit_mb).toBe(1024);
  });

  test("size_limit_mb out of 1..65536 or not an integer is 422 validation_error, and nothing is created", async () => {
    const before = ids(await tester.listCargos("?limit=200"));
    for (const size_limit_mb of [0, -5, 70000, "x", 1.5]) {
      const error = expectErrorShape(await tester.createCargo({ size_limit_mb }), 422, "validation_error");
      expect(error.details.field).toBe("size_limit_mb");
    }
    expect(ids(await tester.listCargos("?limit=200"))).toEqual(before);
  });

  test("GET /v1/cargos lists external cargos only; ?managed=true lists one managed cargo per sandbox", async () => {
    const external = await newCargo();
    const sandbox = await newSandbox();
    const attached = await newSandbox("tester", { cargo_id: external.id });
    expect(attached.cargo_id).toBe(external.id);

    const externalIds = ids(await tester.listCargos("?limit=200"));
    expect(externalIds).toContain(external.id);
    expect(externalIds).not.toContain(sandbox.cargo_id);
    expect(ids(await tester.listCargos("?managed=false&limit=200"))).toEqual(externalIds);

    const managed = (await tester.listCargos("?managed=true&limit=200")).body.items;
    // The sandbox attached to an external cargo made no managed cargo of its own.
    expect(managed.map((c: any) => c.managed_by_sandbox_id)).toEqual([sandbox.id]);
    expect(managed[0]).toMatchObject({ id: sandbox.cargo_id, managed: true, size_limit_mb: 1024 });

    const managedGet = await tester.getCargo(sandbox.cargo_id);
    expect(managedGet.status).toBe(200);
    expect(managedGet.body).toEqual(managed[0]);
    expect((await tester.getCargo(external.id)).body).toMatchObject({ id: external.id, managed: false });
    // A managed cargo is in use by its own sandbox, so it cannot be deleted on its own.
    const inUse = expectErrorShape(await tester.deleteCargo(sandbox.cargo_id), 409, "conflict");
    expect(inUse.details.active_sandbox_ids).toEqual([sandbox.id]);

    await deleteSandboxes([sandbox.id, attached.id]);
    // A managed cargo goes with its sandbox.
    expectErrorShape(await tester.getCargo(sandbox.cargo_id), 404, "not_found");
    expect(ids(await tester.listCargos("?managed=true"))).toEqual([]);
    expect((await tester.deleteCargo(external.id)).status).toBe(204);
  });

  test("an unknown cargo id is 404 not_found on GET and DELETE", async () => {
    for (const id of ["ws-000000000000", "nonsense"]) {
      expectErrorShape(await tester.getCargo(id), 404, "not_found");
      expectErrorShape(await tester.deleteCargo(id), 404, "not_found");
    }
  });
});

describe("sandboxes on an external cargo", () => {
  let cargo: any;
  let first: any;

  beforeAll(async () => {
    cargo = await newCargo();
  });

  test("a sandbox created with cargo_id mounts that volume at /workspace", async () => {
    first = await newSandbox("tester", { cargo_id: cargo.id });
    expect(first.cargo_id).toBe(cargo.id);
    expect(await sh(first.id, "pwd && echo written-by-first > shared.txt")).toBe("/workspace\n");
    expect(workspaceMount(first.id)).toMatchObject({ Type: "volume", Name: volumeOf(cargo.id), RW: true });
  });

  test("using the cargo moves its last_accessed_at forward", async () => {
    const { created_at, last_accessed_at } = (await tester.getCargo(cargo.id)).body;
    expect(Date.parse(last_accessed_at)).toBeGreaterThan(Date.parse(created_at));
  });

  test("deleting the sandbox keeps the external cargo, its volume and its files", async () => {
    await deleteSandboxes([first.id]);
    expect(containersWithLabel(`bay.sandbox_id=${first.id}`)).toEqual([]);
    expect(volumeExists(volumeOf(cargo.id))).toBe(true);
    expect((await tester.getCargo(cargo.id)).body).toMatchObject({ id: cargo.id, managed: false });
    expect(ids(await tester.listCargos("?limit=200"))).toContain(cargo.id);
  });

  test("the next sandbox on the same cargo sees the files of the previous one", async () => {
    const next = await newSandbox("tester", { cargo_id: cargo.id });
    expect(await sh(next.id, "cat shared.txt")).toBe("written-by-first\n");
    expect(workspaceMount(next.id)).toMatchObject({ Name: volumeOf(cargo.id) });
    await deleteSandboxes([next.id]);
  });

  test("attaching the managed cargo of another sandbox is 409 conflict, and creates nothing", async () => {
    const owner = await newSandbox();
    const before = ids(await tester.listSandboxes());
    const error = expectErrorShape(await tester.createSandbox({ cargo_id: owner.cargo_id }), 409, "conflict");
    expect(error.details).toMatchObject({ cargo_id: owner.cargo_id });
    expect(ids(await tester.listSandboxes())).toEqual(before);
    await deleteSandboxes([owner.id]);
  });

  test("DELETE of a cargo in use is 409 with exactly the live users in details.active_sandbox_ids", async () => {
    const gone = await newSandbox("tester", { cargo_id: cargo.id });
    await deleteSandboxes([gone.id]);
    const a = await newSandbox("tester", { cargo_id: cargo.id });
    const b = await newSandbox("tester", { cargo_id: cargo.id });
    // Two live sandboxes share the volume at the same time.
    await sh(a.id, "echo from-a > both.txt");
    expect(await sh(b.id, "cat both.txt")).toBe("from-a\n");

    const error = expectErrorShape(await tester.deleteCargo(cargo.id), 409, "conflict");
    expect([...error.details.active_sandbox_ids].sort()).toEqual([a.id, b.id].sort());
    // Nothing was deleted.
    expect((await tester.getCargo(cargo.id)).status).toBe(200);
    expect(volumeExists(volumeOf(cargo.id))).toBe(true);
    expect(await sh(a.id, "cat shared.txt")).toBe("written-by-first\n");

    // A stopped sandbox still uses its cargo: its next call starts on it again.
    expect((await as("tester", "POST", `/v1/sandboxes/${a.id}/stop`)).status).toBe(200);
    const stopped = expectErrorShape(await tester.deleteCargo(cargo.id), 409, "conflict");
    expect([...stopped.details.active_sandbox_ids].sort()).toEqual([a.id, b.id].sort());

    await deleteSandboxes([a.id]);
    const stillB = expectErrorShape(await tester.deleteCargo(cargo.id), 409, "conflict");
    expect(stillB.details.active_sandbox_ids).toEqual([b.id]);
    await deleteSandboxes([b.id]);
  });

  test("a DELETE racing with attaches never leaves a live sandbox on a deleted cargo", async () => {
    const raced = await newCargo();
    const creates = Array.from({ length: 8 }, () => tester.createSandbox({ cargo_id: raced.id }));
    const [deletion, ...attached] = await Promise.all([tester.deleteCargo(raced.id), ...creates]);
    const created = attached.filter((r) => r.status === 201).map((r) => r.body.id);
    expect(attached.filter((r) => r.status !== 201).map((r) => r.body.error.code)).toEqual(
      Array(8 - created.length).fill("not_found"),
    );
    if (deletion.status === 204) {
      expect(created).toEqual([]);
      expect(volumeExists(volumeOf(raced.id))).toBe(false);
    } else {
      expectErrorShape(deletion, 409, "conflict");
      expect([...deletion.body.error.details.active_sandbox_ids].sort()).toEqual([...created].sort());
      expect((await tester.getCargo(raced.id)).status).toBe(200);
      await deleteSandboxes(created);
      expect((await tester.deleteCargo(raced.id)).status).toBe(204);
    }
  });

  test("once unused: DELETE is 204, the volume is gone, GET is 404, a repeat is 204, attaching is 404", async () => {
    const response = await tester.deleteCargo(cargo.id);
    expect(response.status).toBe(204);
    expect(response.body).toBeNull();
    expect(volumeExists(volumeOf(cargo.id))).toBe(false);
    expectErrorShape(await tester.getCargo(cargo.id), 404, "not_found");
    expect(ids(await tester.listCargos("?limit=200"))).not.toContain(cargo.id);
    expect((await tester.deleteCargo(cargo.id)).status).toBe(204);

    const before = ids(await tester.listSandboxes());
    expectErrorShape(await tester.createSandbox({ cargo_id: cargo.id }), 404, "not_found");
    expect(ids(await tester.listSandboxes())).toEqual(before);
  });
});

describe("owner isolation", () => {
  test("another owner's cargo is 404 on GET, DELETE and attach, and absent from their list", async () => {
    const cargo = await newCargo("alice");
    const bob = api("bob");
    expect(ids(await api("alice").listCargos())).toEqual([cargo.id]);
    expect(ids(await bob.listCargos())).toEqual([]);
    expectErrorShape(await bob.getCargo(cargo.id), 404, "not_found");
    expectErrorShape(await bob.deleteCargo(cargo.id), 404, "not_found");
    expectErrorShape(await bob.createSandbox({ cargo_id: cargo.id }), 404, "not_found");
    expect(ids(await bob.listSandboxes())).toEqual([]);
    // Bob's attempts changed nothing for Alice.
    expect((await api("alice").getCargo(cargo.id)).status).toBe(200);
    expect(volumeExists(volumeOf(cargo.id))).toBe(true);
    expect((await api("alice").deleteCargo(cargo.id)).status).toBe(204);
  });

  test("another owner's managed cargo and sandbox are 404 too", async () => {
    const sandbox = await newSandbox("alice");
    const bob = api("bob");
    expectErrorShape(await bob.getSandbox(sandbox.id), 404, "not_found");
    expectErrorShape(await bob.deleteSandbox(sandbox.id), 404, "not_found");
    expectErrorShape(await bob.getCargo(sandbox.cargo_id), 404, "not_found");
    expectErrorShape(await bob.createSandbox({ cargo_id: sandbox.cargo_id }), 404, "not_found");
    expect(ids(await bob.listCargos("?managed=true"))).toEqual([]);
    expect((await api("alice").getSandbox(sandbox.id)).status).toBe(200);
    await deleteSandboxes([sandbox.id], "alice");
  });
});

describe("cargo pagination", () => {
  test("limit and cursor walk every cargo once, in creation order", async () => {
    const created: string[] = [];
    for (let i = 0; i < 7; i++) created.push((await newCargo("bob")).id);

    const { pages, items } = await allPages("bob", "/v1/cargos", 3);
    expect(pages.map((page) => page.length)).toEqual([3, 3, 1]);
    expect(items).toEqual(created);
    expect((await api("bob").listCargos("?limit=7")).body.next_cursor).toBeNull();
    expect(ids(await api("bob").listCargos())).toEqual(created);
  });

  test("the cursor is stable while cargos are created and deleted during paging", async () => {
    const bob = api("bob");
    const existing = ids(await bob.listCargos("?limit=200"));
    const first = await bob.listCargos("?limit=3");
    expect(ids(first)).toEqual(existing.slice(0, 3));

    // Delete one already seen and one not yet seen; add one.
    expect((await bob.deleteCargo(existing[1]!)).status).toBe(204);
    expect((await bob.deleteCargo(existing[4]!)).status).toBe(204);
    const added = (await newCargo("bob")).id;

    const seen = [...ids(first)];
    let cursor: string | null = first.body.next_cursor;
    while (cursor !== null) {
      const page = await bob.listCargos(`?limit=3&cursor=${cursor}`);
      expect(page.status).toBe(200);
      seen.push(...ids(page));
      cursor = page.body.next_cursor;
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual([...existing.filter((id) => id !== existing[4]), added]);
  });

  test("without a limit a page holds 50 cargos", async () => {
    const bob = api("bob");
    const existing = ids(await bob.listCargos("?limit=200")).length;
    for (let i = existing; i < 52; i++) await newCargo("bob");
    const first = await bob.listCargos();
    expect(first.body.items.length).toBe(50);
    expect(first.body.next_cursor).not.toBeNull();
    expect(ids(await bob.listCargos(`?cursor=${first.body.next_cursor}`)).length).toBe(2);
  });

  test("a bad cursor, limit or managed flag is 422 validation_error naming the field", async () => {
    await expectFieldErrors(
      { "?cursor=bogus": "cursor", "?limit=0": "limit", "?limit=201": "limit", "?limit=x": "limit", "?managed=maybe": "managed" },
      (params) => tester.listCargos(params),
    );
  });
});

describe("cleanup", () => {
  test("after deleting everything, nothing of this instance remains on the engine", async () => {
    for (const owner of Object.keys(OWNER_KEYS) as Owner[]) {
      const client = api(owner);
      await deleteSandboxes(ids(await client.listSandboxes()), owner);
      for (const id of ids(await client.listCargos("?limit=200"))) expect((await client.deleteCargo(id)).status).toBe(204);
      expect(ids(await client.listCargos("?managed=true&limit=200"))).toEqual([]);
    }
    expect(containersWithLabel(`bay.instance_id=${bay.instanceId}`)).toEqual([]);
    expect(volumesWithLabel(`bay.instance_id=${bay.instanceId}`)).toEqual([]);
  });
});
