import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { eq } from "drizzle-orm";
import { sandboxes } from "../../src/db/schema.ts";
import { POOL_OWNER } from "../../src/core/owners.ts";
import { REFILL_AFTER_CLAIM_MS } from "../../src/core/warm-pool.ts";
import { authorizationOf, THREE_OWNERS_CONFIG, useTestBay } from "../helpers/test-bay.ts";
import { containersWithLabel } from "../helpers/docker.ts";
import { TEST_IMAGE } from "../helpers/env.ts";

// Real containers start here; each test gets room, and no test asserts speed.
setDefaultTimeout(120_000);

const POOL_SIZE = 3;
const bay = useTestBay({
  background: true,
  config: {
    ...THREE_OWNERS_CONFIG,
    quotas: { default: { max_sandboxes: 0, max_running_sessions: 0 }, owners: { alice: { max_sandboxes: 2, max_running_sessions: 2 }, bob: { max_sandboxes: 2, max_running_sessions: 0 } } },
    profiles: [{ id: "python-default", image: TEST_IMAGE, warm_pool_size: POOL_SIZE }],
  },
});

async function poolIsFull(): Promise<boolean> {
  for (let i = 0; i < 600; i++) {
    if ((await bay.core.pool.readySizes())[0]!.ready === POOL_SIZE) return true;
    await Bun.sleep(100);
  }
  return false;
}

const poolMembers = () => bay.core.db.select().from(sandboxes).where(eq(sandboxes.owner, POOL_OWNER)).all().filter((s) => !s.deletedAt);

describe("warm pools", () => {
  test("the pool fills to warm_pool_size with started members that nobody can see", async () => {
    expect(await poolIsFull()).toBe(true);
    expect(poolMembers().length).toBe(POOL_SIZE);
    for (const member of poolMembers()) expect(containersWithLabel(`bay.sandbox_id=${member.id}`).length).toBe(1);
    expect((await bay.request("GET", "/v1/sandboxes")).body.items).toEqual([]);
    expect((await bay.request("GET", "/v1/cargos?managed=true")).body.items).toEqual([]);
  });

  test("a create claims a member: the sandbox is ready at once and its first exec needs no container start", async () => {
    expect(await poolIsFull()).toBe(true);
    const before = new Set(poolMembers().map((m) => m.id));
    const claimedAfter = Date.now();
    const created = (await bay.request("POST", "/v1/sandboxes", { ttl: 600 })).body;
    expect(before.has(created.id)).toBe(true);
    expect(created.status).toBe("ready");
    expect(Date.parse(created.expires_at) - Date.parse(created.created_at)).toBe(600_000);
    const [container] = containersWithLabel(`bay.sandbox_id=${created.id}`);
    const exec = await bay.request("POST", `/v1/sandboxes/${created.id}/python/exec`, { code: "import os; os.getcwd()" });
    expect(exec.body).toMatchObject({ success: true, output: "'/workspace'\n" });
    expect(containersWithLabel(`bay.sandbox_id=${created.id}`)).toEqual([container!]);
    expect((await bay.request("GET", "/v1/sandboxes")).body.items.map((s: any) => s.id)).toEqual([created.id]);
    // The pool refills behind it, but only once the claimer's first calls had the cores to themselves.
    expect(await poolIsFull()).toBe(true);
    expect(poolMembers().map((m) => m.id)).not.toContain(created.id);
    const replacement = poolMembers().find((member) => !before.has(member.id))!;
    expect(replacement.createdAt - claimedAfter).toBeGreaterThanOrEqual(REFILL_AFTER_CLAIM_MS);
  });

  test("concurrent creates never get the same member", async () => {
    expect(await poolIsFull()).toBe(true);
    const answers = await Promise.all(Array.from({ length: 8 }, () => bay.request("POST", "/v1/sandboxes", {})));
    const ids = answers.map((a) => a.body.id);
    expect(new Set(ids).size).toBe(8);
    const execs = await Promise.all(ids.map((id) => bay.request("POST", `/v1/sandboxes/${id}/shell/exec`, { command: "echo $HOSTNAME" })));
    expect(new Set(execs.map((e) => e.body.output)).size).toBe(8);
    for (const id of ids) expect(containersWithLabel(`bay.sandbox_id=${id}`).length).toBe(1);
  });

  test("pool members are outside quotas: an owner at its limit still gets exactly its limit", async () => {
    expect(await poolIsFull()).toBe(true);
    const alice = authorizationOf("alice");
    const first = await bay.request("POST", "/v1/sandboxes", {}, alice);
    const second = await bay.request("POST", "/v1/sandboxes", {}, alice);
    expect([first.status, second.status]).toEqual([201, 201]);
    expect((await bay.request("POST", "/v1/sandboxes", {}, alice)).status).toBe(429);
  });

  test("concurrent creates claiming from the pool still respect the owner's quota", async () => {
    expect(await poolIsFull()).toBe(true);
    const bob = authorizationOf("bob");
    const answers = await Promise.all(Array.from({ length: 6 }, () => bay.request("POST", "/v1/sandboxes", {}, bob)));
    expect(answers.filter((a) => a.status === 201).length).toBe(2);
    expect(answers.filter((a) => a.status === 429).length).toBe(4);
    expect((await bay.request("GET", "/v1/sandboxes", undefined, bob)).body.items.length).toBe(2);
  });

  test("after a restart the pool is rebuilt from the members that still run (no new containers)", async () => {
    expect(await poolIsFull()).toBe(true);
    const containersBefore = poolMembers().flatMap((m) => containersWithLabel(`bay.sandbox_id=${m.id}`)).sort();
    await bay.core.pool.stop();
    const { createBay } = await import("../../src/composition/bay.ts");
    const again = await createBay(bay.config);
    try {
      await again.startBackground();
      expect((await again.pool.readySizes())[0]!.ready).toBe(POOL_SIZE);
      const containersAfter = poolMembers().flatMap((m) => containersWithLabel(`bay.sandbox_id=${m.id}`)).sort();
      expect(containersAfter).toEqual(containersBefore);
    } finally {
      await again.close();
    }
  });

  test("drained on shutdown when configured", async () => {
    const members = poolMembers().map((m) => m.id);
    expect(members.length).toBe(POOL_SIZE);
    await bay.core.pool.drain();
    expect(poolMembers()).toEqual([]);
    for (const id of members) expect(containersWithLabel(`bay.sandbox_id=${id}`)).toEqual([]);
  });
});
