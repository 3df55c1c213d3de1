import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { expectErrorShape, expectFieldErrors, type TestResponse, useTestBay } from "../helpers/test-bay.ts";
import { containersWithLabel, volumesWithLabel } from "../helpers/docker.ts";

// Real containers start here; each test gets room, and no test asserts speed.
setDefaultTimeout(60_000);

const bay = useTestBay();

const at = (id: string) => `/v1/sandboxes/${id}`;
const query = (path: string) => `?path=${encodeURIComponent(path)}`;
const ids = (response: TestResponse): string[] => response.body.items.map((item: any) => item.id);
const ms = (iso: string) => Date.parse(iso);

const createSandbox = (body: unknown = {}) => bay.request("POST", "/v1/sandboxes", body);
const getSandbox = (id: string) => bay.request("GET", at(id));
const listSandboxes = (params = "") => bay.request("GET", `/v1/sandboxes${params}`);
const extendTtl = (id: string, body?: unknown) => bay.request("POST", `${at(id)}/extend_ttl`, body);
const pythonExec = (id: string, code: string) => bay.request("POST", `${at(id)}/python/exec`, { code });

async function newSandbox(body: unknown = {}): Promise<any> {
  const response = await createSandbox(body);
  expect(response.status).toBe(201);
  return response.body;
}

async function deleteSandbox(id: string): Promise<void> {
  expect((await bay.request("DELETE", at(id))).status).toBe(204);
}

/** Leaves the owner with no sandboxes, so that list tests see only their own. */
async function deleteAllSandboxes(): Promise<void> {
  for (const id of ids(await listSandboxes("?limit=200"))) await deleteSandbox(id);
  expect(ids(await listSandboxes())).toEqual([]);
}

/** Waits until a sandbox's expires_at has passed (plus a margin). */
async function waitUntilExpired(sandbox: { expires_at: string }): Promise<void> {
  await Bun.sleep(Math.max(0, ms(sandbox.expires_at) - Date.now()) + 500);
}

/** One python/exec starts the container: the sandbox is then ready. */
async function makeReady(id: string): Promise<void> {
  const response = await pythonExec(id, "1 + 1");
  expect(response.body).toMatchObject({ success: true, output: "2\n" });
}

function uploadForm(path: string): FormData {
  const form = new FormData();
  form.set("path", path);
  form.set("file", new Blob([new Uint8Array([1, 2, 3])]), "upload.bin");
  return form;
}

/** Every capability route (api.md §6), each as one call on a sandbox. */
const capabilityCalls: Record<string, (id: string) => Promise<TestResponse>> = {
  "python/exec": (id) => pythonExec(id, "1"),
  "python/exec (event stream)": (id) =>
    bay.request("POST", `${at(id)}/python/exec`, { code: "1" }, { accept: "text/event-stream" }),
  "shell/exec": (id) => bay.request("POST", `${at(id)}/shell/exec`, { command: "true" }),
  "filesystem read": (id) => bay.request("GET", `${at(id)}/filesystem/files${query("a.txt")}`),
  "filesystem write": (id) => bay.request("PUT", `${at(id)}/filesystem/files`, { path: "a.txt", content: "x" }),
  "filesystem list": (id) => bay.request("GET", `${at(id)}/filesystem/directories${query(".")}`),
  "filesystem delete": (id) => bay.request("DELETE", `${at(id)}/filesystem/files${query("a.txt")}`),
  upload: (id) => bay.raw("POST", `${at(id)}/filesystem/upload`, uploadForm("up.bin")),
  download: (id) => bay.raw("GET", `${at(id)}/filesystem/download${query("a.txt")}`),
  "files/read (alias)": (id) => bay.request("POST", `${at(id)}/files/read`, { path: "a.txt" }),
  "files/write (alias)": (id) => bay.request("POST", `${at(id)}/files/write`, { path: "a.txt", content: "x" }),
  "files/list (alias)": (id) => bay.request("POST", `${at(id)}/files/list`, {}),
  "files/delete (alias)": (id) => bay.request("POST", `${at(id)}/files/delete`, { path: "a.txt" }),
};

describe("ttl at create", () => {
  test("ttl 0, ttl null and no ttl never expire", async () => {
    for (const body of [{ ttl: 0 }, { ttl: null }, {}]) {
      const sandbox = await newSandbox(body);
      expect(sandbox.expires_at).toBeNull();
      expect((await getSandbox(sandbox.id)).body.expires_at).toBeNull();
      await deleteSandbox(sandbox.id);
    }
  });

  test("ttl 60 gives expires_at = created_at + 60 s", async () => {
    const sandbox = await newSandbox({ ttl: 60 });
    expect(sandbox.expires_at).toMatch(/Z$/);
    expect(Math.abs(ms(sandbox.expires_at) - ms(sandbox.created_at) - 60_000)).toBeLessThan(1000);
    expect((await getSandbox(sandbox.id)).body).toMatchObject({ status: "idle", expires_at: sandbox.expires_at });
    await deleteSandbox(sandbox.id);
  });

  test("a negative, non-numeric or huge ttl is 422 validation_error and creates nothing", async () => {
    const before = ids(await listSandboxes("?limit=200"));
    const volumesBefore = volumesWithLabel(`bay.instance_id=${bay.instanceId}`);
    for (const ttl of [-1, -3600, 1e12, Number.MAX_SAFE_INTEGER, "soon"]) {
      const error = expectErrorShape(await createSandbox({ ttl }), 422, "validation_error");
      expect(error.details.field).toBe("ttl");
    }
    expect(ids(await listSandboxes("?limit=200"))).toEqual(before);
    expect(volumesWithLabel(`bay.instance_id=${bay.instanceId}`)).toEqual(volumesBefore);
  });
});

describe("extend_ttl", () => {
  test("on a sandbox with a ttl: new expires_at = old expires_at + extend_by", async () => {
    const sandbox = await newSandbox({ ttl: 600 });
    const response = await extendTtl(sandbox.id, { extend_by: 120 });
    expect(response.status).toBe(200);
    expect(response.body.id).toBe(sandbox.id);
    expect(ms(response.body.expires_at) - ms(sandbox.expires_at)).toBe(120_000);
    expect((await getSandbox(sandbox.id)).body.expires_at).toBe(response.body.expires_at);

    const again = await extendTtl(sandbox.id, { extend_by: 1 });
    expect(ms(again.body.expires_at) - ms(response.body.expires_at)).toBe(1000);
    await deleteSandbox(sandbox.id);
  });

  test("on a sandbox without ttl: 409 sandbox_ttl_infinite, and it still never expires", async () => {
    const sandbox = await newSandbox();
    expectErrorShape(await extendTtl(sandbox.id, { extend_by: 60 }), 409, "sandbox_ttl_infinite");
    expect((await getSandbox(sandbox.id)).body.expires_at).toBeNull();
    await deleteSandbox(sandbox.id);
  });

  test("extend_by 0, negative, non-integer, missing or no body is 422 validation_error; expires_at unchanged", async () => {
    const sandbox = await newSandbox({ ttl: 600 });
    for (const body of [{ extend_by: 0 }, { extend_by: -10 }, { extend_by: "60s" }, {}, undefined]) {
      expectErrorShape(await extendTtl(sandbox.id, body), 422, "validation_error");
    }
    expect((await getSandbox(sandbox.id)).body.expires_at).toBe(sandbox.expires_at);
    await deleteSandbox(sandbox.id);
  });

  test("on an unknown sandbox: 404 not_found", async () => {
    expectErrorShape(await extendTtl("sandbox-000000000000", { extend_by: 60 }), 404, "not_found");
  });
});

describe("an expired sandbox", () => {
  let sandbox: any;

  beforeAll(async () => {
    sandbox = await newSandbox({ ttl: 1 });
    await waitUntilExpired(sandbox);
  });

  test("GET and the list show status expired, with its expires_at", async () => {
    expect((await getSandbox(sandbox.id)).body).toMatchObject({ status: "expired", expires_at: sandbox.expires_at });
    expect(ids(await listSandboxes("?status=expired"))).toContain(sandbox.id);
    expect(ids(await listSandboxes("?status=idle"))).not.toContain(sandbox.id);
  });

  for (const [name, call] of Object.entries(capabilityCalls)) {
    test(`${name} is 409 sandbox_expired and starts no container`, async () => {
      const error = expectErrorShape(await call(sandbox.id), 409, "sandbox_expired");
      expect(error.details.sandbox_id).toBe(sandbox.id);
      expect(containersWithLabel(`bay.sandbox_id=${sandbox.id}`)).toEqual([]);
    });
  }

  test("extend_ttl and keepalive are 409 sandbox_expired", async () => {
    expectErrorShape(await extendTtl(sandbox.id, { extend_by: 3600 }), 409, "sandbox_expired");
    expect((await getSandbox(sandbox.id)).body).toMatchObject({ status: "expired", expires_at: sandbox.expires_at });
    expectErrorShape(await bay.request("POST", `${at(sandbox.id)}/keepalive`), 409, "sandbox_expired");
  });

  test("DELETE still works: 204, then 404", async () => {
    await deleteSandbox(sandbox.id);
    expectErrorShape(await getSandbox(sandbox.id), 404, "not_found");
  });

  test("a sandbox that expires while running refuses calls and DELETE removes its container", async () => {
    const running = await newSandbox({ ttl: 3 });
    await makeReady(running.id);
    expect(containersWithLabel(`bay.sandbox_id=${running.id}`).length).toBe(1);
    await waitUntilExpired(running);
    expect((await getSandbox(running.id)).body.status).toBe("expired");
    expectErrorShape(await pythonExec(running.id, "1"), 409, "sandbox_expired");
    await deleteSandbox(running.id);
    expect(containersWithLabel(`bay.sandbox_id=${running.id}`)).toEqual([]);
  });
});

describe("cursor pagination over sandboxes", () => {
  test("stays stable while sandboxes are created and deleted between pages", async () => {
    await deleteAllSandboxes();
    const created: string[] = [];
    const create = async () => {
      const id = (await newSandbox()).id;
      created.push(id);
      return id;
    };
    for (let i = 0; i < 12; i++) await create();
    const original = [...created];
    const deleted = new Set<string>();
    const remove = async (id: string) => {
      await deleteSandbox(id);
      deleted.add(id);
    };

    /** Between pages: what changes the list while the client pages through it. */
    const churn: Array<() => Promise<void>> = [
      async () => {
        await remove(original[1]!); // already seen
        await remove(original[4]!); // already seen: the row the cursor points at
        await remove(original[6]!); // not yet seen
        await create();
      },
      async () => {
        await remove(original[3]!); // already seen
        await remove(original[11]!); // not yet seen
        await create();
        await create();
      },
    ];

    const seen: string[] = [];
    let cursor: string | null = null;
    let page = 0;
    do {
      const response = await listSandboxes(`?limit=5${cursor ? `&cursor=${cursor}` : ""}`);
      expect(response.status).toBe(200);
      expect(response.body.items.length).toBeLessThanOrEqual(5);
      seen.push(...ids(response));
      cursor = response.body.next_cursor;
      if (cursor !== null) await churn[page]?.();
      page++;
      expect(page).toBeLessThan(10);
    } while (cursor !== null);

    expect(new Set(seen).size).toBe(seen.length);
    const throughout = original.filter((id) => !deleted.has(id));
    for (const id of throughout) expect(seen).toContain(id);
    // In creation order: what was seen is a subsequence of what was created.
    expect(seen).toEqual(created.filter((id) => seen.includes(id)));
    // A sandbox deleted before the client reached it is not listed.
    expect(seen).not.toContain(original[6]);
    expect(seen).not.toContain(original[11]);
    // Rows created during paging come after the cursor, so this client sees them.
    expect(seen.slice(-3)).toEqual(created.slice(12));

    await deleteAllSandboxes();
  });
});

describe("the status filter", () => {
  let idle: string[];
  let ready: string[];
  let expired: string[];

  beforeAll(async () => {
    await deleteAllSandboxes();
    // i % 3 === 1 → ready; i === 5 and 9 → expired; the rest stay idle.
    const plan = Array.from({ length: 11 }, (_, i) => (i % 3 === 1 ? "ready" : i === 5 || i === 9 ? "expired" : "idle"));
    const sandboxes: { id: string; kind: string; expires_at: string }[] = [];
    for (const kind of plan) {
      const sandbox = await newSandbox(kind === "expired" ? { ttl: 1 } : {});
      sandboxes.push({ ...sandbox, kind });
    }
    const of = (kind: string) => sandboxes.filter((s) => s.kind === kind);
    await Promise.all(of("ready").map((s) => makeReady(s.id)));
    for (const s of of("expired")) await waitUntilExpired(s);
    const idsOf = (kind: string) => of(kind).map((s) => s.id);
    idle = idsOf("idle");
    ready = idsOf("ready");
    expired = idsOf("expired");
  });

  afterAll(async () => {
    await deleteAllSandboxes();
  });

  /** Follows next_cursor from the first page; every page but the last is full. */
  async function pagesOf(status: string, limit: number): Promise<string[][]> {
    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const response = await listSandboxes(`?status=${status}&limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`);
      expect(response.status).toBe(200);
      for (const item of response.body.items) expect(item.status).toBe(status);
      pages.push(ids(response));
      cursor = response.body.next_cursor;
      expect(pages.length).toBeLessThan(20);
    } while (cursor !== null);
    for (const page of pages.slice(0, -1)) expect(page.length).toBe(limit);
    return pages;
  }

  test("status=ready over several pages returns exactly the ready sandboxes, in order", async () => {
    const pages = await pagesOf("ready", 2);
    expect(pages.length).toBeGreaterThanOrEqual(2);
    expect(pages.flat()).toEqual(ready);
  });

  test("status=idle over several pages returns exactly the idle sandboxes, in order", async () => {
    const pages = await pagesOf("idle", 2);
    expect(pages.length).toBeGreaterThanOrEqual(3);
    expect(pages.flat()).toEqual(idle);
  });

  test("status=expired returns the expired sandboxes; starting and failed return none", async () => {
    expect((await pagesOf("expired", 1)).flat()).toEqual(expired);
    for (const status of ["starting", "failed"]) expect((await pagesOf(status, 3)).flat()).toEqual([]);
  });

  test("without a filter every sandbox is listed once", async () => {
    const all = ids(await listSandboxes("?limit=200"));
    expect([...all].sort()).toEqual([...idle, ...ready, ...expired].sort());
  });

  test("a bad cursor, limit 0, limit 201 or an unknown status is 422 validation_error naming the field", async () => {
    await expectFieldErrors(
      {
        "?cursor=bogus": "cursor",
        [`?cursor=${Buffer.from("p-1").toString("base64url")}`]: "cursor",
        "?limit=0": "limit",
        "?limit=201": "limit",
        "?limit=ten": "limit",
        "?status=running": "status",
        "?status=ready&limit=0": "limit",
      },
      listSandboxes,
    );
  });
});

describe("cleanup", () => {
  test("nothing of this instance is left on the engine", async () => {
    await deleteAllSandboxes();
    expect(containersWithLabel(`bay.instance_id=${bay.instanceId}`)).toEqual([]);
    expect(volumesWithLabel(`bay.instance_id=${bay.instanceId}`)).toEqual([]);
  });
});
