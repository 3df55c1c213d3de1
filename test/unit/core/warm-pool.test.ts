import { describe, expect, test } from "bun:test";
import { LABEL, volumeName } from "../../../src/core/labels.ts";
import { POOL_OWNER } from "../../../src/core/owners.ts";
import { OWNER, UNIT_PROFILE, eventually, execPython, useUnitBays, type UnitBay } from "./unit-bay.ts";

const startBay = useUnitBays();
const WARM = { id: "warm", image: "unit/python:1", idle_timeout: 600, warm_pool_size: 2 };

async function startPooledBay(config: Record<string, unknown> = {}): Promise<UnitBay> {
  const bay = await startBay({ config: { profiles: [UNIT_PROFILE, WARM], ...config } });
  await bay.core.pool.refill();
  return bay;
}

const poolContainerIds = (bay: UnitBay) =>
  bay.driver.containers.filter((container) => container.running && container.labels[LABEL.owner] === POOL_OWNER).map((c) => c.id);

const ready = async (bay: UnitBay) => (await bay.core.pool.readySizes()).find((size) => size.profile === WARM.id)?.ready;

describe("warm pool", () => {
  test("a refill starts warm_pool_size members of each pooled profile and none of the others", async () => {
    const bay = await startPooledBay();
    expect(await bay.core.pool.readySizes()).toEqual([{ profile: WARM.id, ready: 2, target: 2 }]);
    expect(bay.driver.starts).toBe(2);
    expect(bay.driver.containers.map((c) => c.labels[LABEL.profileId])).toEqual([WARM.id, WARM.id]);
    // Already full: another refill starts nothing.
    await bay.core.pool.refill();
    expect(bay.driver.starts).toBe(2);
  });

  test("a create claims a ready member, whose first call needs no container start, and the pool refills", async () => {
    const bay = await startPooledBay();
    const members = poolContainerIds(bay);
    const sandbox = await bay.core.sandboxes.create(OWNER, { profile: WARM.id });
    expect(sandbox.status).toBe("ready");
    expect(sandbox.idle_expires_at).not.toBeNull();
    await eventually(async () => (await ready(bay)) === 2, "the claim refills the pool");
    expect(bay.driver.starts).toBe(3);

    expect((await execPython(bay, sandbox.id)).status).toBe(200);
    expect(bay.driver.starts).toBe(3);
    const [claimed] = bay.driver.containersOf(sandbox.id);
    expect(members).toContain(claimed!.id);
    expect((await bay.core.sandboxes.list(OWNER, { limit: 10 })).items.map((s) => s.id)).toEqual([sandbox.id]);
  });

  test("members are invisible to callers: not listed, not found by id, not counted against max_sandboxes", async () => {
    const bay = await startPooledBay({ quotas: { default: { max_sandboxes: 1 } } });
    const [member] = await bay.store.poolMembers(POOL_OWNER, WARM.id);
    expect((await bay.core.sandboxes.list(OWNER, { limit: 10 })).items).toEqual([]);
    const listed = await bay.request("GET", "/v1/sandboxes");
    expect(((await listed.json()) as { items: unknown[] }).items).toEqual([]);
    expect((await bay.request("GET", `/v1/sandboxes/${member!.sandbox.id}`)).status).toBe(404);
    expect((await bay.request("POST", "/v1/sandboxes", { body: { profile: UNIT_PROFILE.id } })).status).toBe(201);
  });

  test("an owner at max_running_sessions gets a cold sandbox, and the members stay in the pool", async () => {
    const bay = await startPooledBay({ quotas: { default: { max_running_sessions: 1 } } });
    const busy = await bay.core.sandboxes.create(OWNER, {});
    expect((await execPython(bay, busy.id)).status).toBe(200);
    const sandbox = await bay.core.sandboxes.create(OWNER, { profile: WARM.id });
    expect(sandbox.status).toBe("idle");
    expect(await ready(bay)).toBe(2);
    expect(bay.driver.containersOf(sandbox.id)).toEqual([]);
  });

  test("a member whose container died is replaced at the next refill, its cargo removed", async () => {
    const bay = await startPooledBay();
    const [lost, kept] = await bay.store.poolMembers(POOL_OWNER, WARM.id);
    const session = (await bay.store.activeSession(lost!.sandbox.id))!;
    await bay.driver.endContainer(session.containerId!);
    await bay.core.sessions.handleDeath(session.id, "container exited (code 137)");
    expect(await ready(bay)).toBe(1);

    await bay.core.pool.refill();
    expect(await ready(bay)).toBe(2);
    const members = (await bay.store.poolMembers(POOL_OWNER, WARM.id)).map((member) => member.sandbox.id);
    expect(members).toContain(kept!.sandbox.id);
    expect(members).not.toContain(lost!.sandbox.id);
    expect(bay.driver.volumes.map((volume) => volume.name)).not.toContain(volumeName(lost!.sandbox.cargoId));
    expect(bay.driver.volumes).toHaveLength(2);
  });

  test("drain deletes every member with its container and cargo", async () => {
    const bay = await startPooledBay();
    expect(bay.driver.volumes).toHaveLength(2);
    await bay.core.pool.drain();
    expect(await ready(bay)).toBe(0);
    expect(await bay.store.poolMembers(POOL_OWNER, WARM.id)).toEqual([]);
    expect(bay.driver.containers).toEqual([]);
    expect(bay.driver.volumes).toEqual([]);
  });
});
