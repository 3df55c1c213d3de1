import { describe, expect, test } from "bun:test";
import { OTHER_OWNER, OWNER, execPython, useUnitBays, type UnitBay } from "./unit-bay.ts";

const startBay = useUnitBays();

interface ErrorEnvelope {
  error: { code: string; details: Record<string, unknown> };
}

const createSandbox = (bay: UnitBay, as?: string) => bay.request("POST", "/v1/sandboxes", { body: {}, as });

async function sandboxId(response: Response): Promise<string> {
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

async function expectQuotaExceeded(response: Response, quota: string, limit: number): Promise<void> {
  expect(response.status).toBe(429);
  const body = (await response.json()) as ErrorEnvelope;
  expect(body.error.code).toBe("quota_exceeded");
  expect(body.error.details).toMatchObject({ quota, limit, current: limit });
}

const sandboxCount = async (bay: UnitBay, owner = OWNER) => (await bay.core.sandboxes.list(owner, { limit: 100 })).items.length;

describe("quotas", () => {
  test("max_sandboxes refuses the next create with 429 and leaves no row, volume or container; a delete makes room", async () => {
    const bay = await startBay({ config: { quotas: { default: { max_sandboxes: 2 } } } });
    const first = await sandboxId(await createSandbox(bay));
    await sandboxId(await createSandbox(bay));
    await expectQuotaExceeded(await createSandbox(bay), "max_sandboxes", 2);
    expect((await sandboxCount(bay))).toBe(2);
    expect(bay.driver.volumes).toHaveLength(2);
    expect(bay.driver.containers).toEqual([]);

    await bay.core.sandboxes.delete(OWNER, first);
    await sandboxId(await createSandbox(bay));
  });

  test("quotas.owners overrides the default for that owner only", async () => {
    const bay = await startBay({ config: { quotas: { default: { max_sandboxes: 1 }, owners: { [OTHER_OWNER]: { max_sandboxes: 3 } } } } });
    for (let i = 0; i < 3; i++) await sandboxId(await createSandbox(bay, OTHER_OWNER));
    await expectQuotaExceeded(await createSandbox(bay, OTHER_OWNER), "max_sandboxes", 3);
    await sandboxId(await createSandbox(bay));
    await expectQuotaExceeded(await createSandbox(bay), "max_sandboxes", 1);
  });

  test("concurrent creates cannot pass max_sandboxes, and the refused ones leave no volume behind", async () => {
    const bay = await startBay({ config: { quotas: { default: { max_sandboxes: 3 } } } });
    const responses = await Promise.all(Array.from({ length: 10 }, () => createSandbox(bay)));
    const statuses = responses.map((response) => response.status).sort();
    expect(statuses).toEqual([...Array(3).fill(201), ...Array(7).fill(429)]);
    // More than three got past the early check: the guard where the row is written is what held.
    expect(bay.driver.calls.filter((call) => call === "createVolume").length).toBeGreaterThan(3);
    expect((await sandboxCount(bay))).toBe(3);
    expect(bay.driver.volumes).toHaveLength(3);
  });

  test("max_running_sessions refuses a start past the limit with 429, starting nothing; a stop makes room", async () => {
    const bay = await startBay({ config: { quotas: { default: { max_running_sessions: 1 } } } });
    const running = await sandboxId(await createSandbox(bay));
    const waiting = await sandboxId(await createSandbox(bay));
    expect((await execPython(bay, running)).status).toBe(200);
    await expectQuotaExceeded(await execPython(bay, waiting), "max_running_sessions", 1);
    expect(bay.driver.starts).toBe(1);
    expect(bay.driver.containersOf(waiting)).toEqual([]);
    expect(await bay.store.latestSession(waiting)).toBeUndefined();
    expect((await bay.core.sandboxes.get(OWNER, waiting)).status).toBe("idle");
    // Another owner is not held back by this one's sessions.
    expect((await execPython(bay, await sandboxId(await createSandbox(bay, OTHER_OWNER)), "x = 1", OTHER_OWNER)).status).toBe(200);

    await bay.core.sandboxes.stop(OWNER, running);
    expect((await execPython(bay, waiting)).status).toBe(200);
  });

  test("concurrent first calls on different sandboxes cannot pass max_running_sessions", async () => {
    const bay = await startBay({ config: { quotas: { default: { max_running_sessions: 2 } } } });
    const ids = await Promise.all(Array.from({ length: 5 }, async () => sandboxId(await createSandbox(bay))));
    const responses = await Promise.all(ids.map((id) => execPython(bay, id)));
    expect(responses.map((response) => response.status).sort()).toEqual([200, 200, 429, 429, 429]);
    expect(bay.driver.starts).toBe(2);
    expect(bay.driver.containers.filter((container) => container.running)).toHaveLength(2);
  });
});
