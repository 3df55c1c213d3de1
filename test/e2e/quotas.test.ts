import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { authorizationOf, expectErrorShape, THREE_OWNERS_CONFIG, useTestBay } from "../helpers/test-bay.ts";
import { containersWithLabel, volumesWithLabel } from "../helpers/docker.ts";

// Real containers start here; each test gets room, and no test asserts speed.
setDefaultTimeout(60_000);

const ALICE = authorizationOf("alice");
const BOB = authorizationOf("bob");

const bay = useTestBay({
  config: {
    ...THREE_OWNERS_CONFIG,
    quotas: { default: { max_sandboxes: 3, max_running_sessions: 1 }, owners: { bob: { max_sandboxes: 0, max_running_sessions: 0 } } },
  },
});

const create = (who: Record<string, string>) => bay.request("POST", "/v1/sandboxes", {}, who);
const exec = (id: string, who: Record<string, string>) => bay.request("POST", `/v1/sandboxes/${id}/shell/exec`, { command: "echo hi" }, who);

describe("per-owner quotas", () => {
  test("max_sandboxes: the next create is 429 quota_exceeded and creates nothing; a delete makes room", async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await create(ALICE)).body.id);
    const volumesBefore = volumesWithLabel("bay.owner=alice").length;
    const error = expectErrorShape(await create(ALICE), 429, "quota_exceeded");
    expect(error.details).toEqual({ quota: "max_sandboxes", limit: 3, current: 3 });
    expect(volumesWithLabel("bay.owner=alice").length).toBe(volumesBefore);
    expect((await bay.request("DELETE", `/v1/sandboxes/${ids[0]}`, undefined, ALICE)).status).toBe(204);
    expect((await create(ALICE)).status).toBe(201);
  });

  test("concurrent creates cannot overshoot the limit", async () => {
    const answers = await Promise.all(Array.from({ length: 6 }, () => create(authorizationOf("tester"))));
    expect(answers.filter((a) => a.status === 201).length).toBe(3);
    expect(answers.filter((a) => a.status === 429).length).toBe(3);
    expect((await bay.request("GET", "/v1/sandboxes")).body.items.length).toBe(3);
  });

  test("max_running_sessions: a second sandbox cannot start compute while the first runs; stopping it makes room", async () => {
    const [first, second] = (await bay.request("GET", "/v1/sandboxes", undefined, ALICE)).body.items.map((s: any) => s.id);
    expect((await exec(first, ALICE)).status).toBe(200);
    const error = expectErrorShape(await exec(second, ALICE), 429, "quota_exceeded");
    expect(error.details).toEqual({ quota: "max_running_sessions", limit: 1, current: 1 });
    expect(containersWithLabel(`bay.sandbox_id=${second}`)).toEqual([]);
    expect((await bay.request("GET", `/v1/sandboxes/${second}`, undefined, ALICE)).body.status).toBe("idle");
    await bay.request("POST", `/v1/sandboxes/${first}/stop`, undefined, ALICE);
    expect((await exec(second, ALICE)).status).toBe(200);
  });

  test("limits are per owner, and 0 in an owner's override means unlimited", async () => {
    const bobs = [];
    for (let i = 0; i < 5; i++) bobs.push((await create(BOB)).body.id);
    const answers = await Promise.all(bobs.slice(0, 2).map((id) => exec(id, BOB)));
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
  });
});
