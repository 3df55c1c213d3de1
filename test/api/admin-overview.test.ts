/**
 * GET /v1/admin/overview (on the in-memory driver): every owner's live
 * sandboxes by status, running sessions, warm pools and the executions this
 * replica answered; admins only. The dashboard's admin page reads it.
 */
import { describe, expect, test } from "bun:test";
import { expectErrorShape, OWNER_KEYS, THREE_OWNERS_CONFIG, useMemoryBay } from "../helpers/memory-bay.ts";

const bay = useMemoryBay({ config: THREE_OWNERS_CONFIG });
const as = (owner: keyof typeof OWNER_KEYS) => ({ authorization: `Bearer ${OWNER_KEYS[owner]}` });

describe("the admin overview", () => {
  test("counts every owner's sandboxes by status, running sessions and executions", async () => {
    const before = await bay.request("GET", "/v1/admin/overview");
    expect(before.status).toBe(200);
    expect(before.body.owners).toEqual([]);
    expect(before.body.executions_total).toBe(0);

    const alices = await bay.request("POST", "/v1/sandboxes", {}, as("alice"));
    await bay.request("POST", "/v1/sandboxes", {}, as("alice"));
    await bay.request("POST", "/v1/sandboxes", {}, as("bob"));
    expect((await bay.request("POST", `/v1/sandboxes/${alices.body.id}/python/exec`, { code: "1" }, as("alice"))).status).toBe(200);
    expect((await bay.request("POST", `/v1/sandboxes/${alices.body.id}/shell/exec`, { command: "true" }, as("alice"))).status).toBe(200);
    // A refused execution is not one.
    expect((await bay.request("POST", `/v1/sandboxes/${alices.body.id}/python/exec`, { code: 1 }, as("alice"))).status).toBe(422);

    // The request metrics are written once each answer has gone out.
    let after = await bay.request("GET", "/v1/admin/overview");
    for (let i = 0; i < 50 && after.body.executions_total < 2; i++, await Bun.sleep(20)) after = await bay.request("GET", "/v1/admin/overview");
    expect(after.body.owners).toEqual([
      { owner: "alice", sandboxes: 2, by_status: { ready: 1, idle: 1 } },
      { owner: "bob", sandboxes: 1, by_status: { idle: 1 } },
    ]);
    expect(after.body.running_sessions).toBe(1);
    expect(after.body.executions_total).toBe(2);
    expect(after.body.warm_pools).toEqual([]);
    expect(after.body.replica_id).toBeString();
  });

  test("is for admins only", async () => {
    expectErrorShape(await bay.request("GET", "/v1/admin/overview", undefined, as("alice")), 403, "forbidden");
    expectErrorShape(await bay.request("GET", "/v1/admin/overview", undefined, { authorization: "" }), 401, "unauthorized");
  });
});
