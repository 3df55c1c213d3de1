import { describe, expect, test } from "bun:test";
import { BayError } from "../../../src/shared/errors.ts";
import { OTHER_OWNER, OWNER, UNIT_PROFILE, useUnitBays, type UnitBay } from "./unit-bay.ts";

const startBay = useUnitBays();

interface ErrorEnvelope {
  error: { code: string; details: Record<string, unknown> };
}

function createSandbox(bay: UnitBay, key: string, body: unknown, as?: string): Promise<Response> {
  return bay.request("POST", "/v1/sandboxes", { body, headers: { "idempotency-key": key }, as });
}

const sandboxCount = async (bay: UnitBay, owner = OWNER) => (await bay.core.sandboxes.list(owner, { limit: 100 })).items.length;

describe("Idempotency-Key on POST /v1/sandboxes", () => {
  test("a retry with the same key and body gets the first answer, marked replayed, and creates nothing", async () => {
    const bay = await startBay();
    const first = await createSandbox(bay, "create-1", { ttl: 600 });
    const retry = await createSandbox(bay, "create-1", { ttl: 600 });
    expect([first.status, retry.status]).toEqual([201, 201]);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect(await retry.json()).toEqual(await first.json());
    expect((await sandboxCount(bay))).toBe(1);
    expect(bay.driver.volumes).toHaveLength(1);
  });

  test("the body's key order does not matter, a different body is 409 conflict, and no second sandbox is made", async () => {
    const bay = await startBay();
    await createSandbox(bay, "create-2", { profile: UNIT_PROFILE.id, ttl: 600 });
    const reordered = await createSandbox(bay, "create-2", { ttl: 600, profile: UNIT_PROFILE.id });
    expect(reordered.headers.get("idempotent-replayed")).toBe("true");
    const changed = await createSandbox(bay, "create-2", { profile: UNIT_PROFILE.id, ttl: 900 });
    expect(changed.status).toBe(409);
    const body = (await changed.json()) as ErrorEnvelope;
    expect(body.error.code).toBe("conflict");
    expect(body.error.details.idempotency_key).toBe("create-2");
    expect((await sandboxCount(bay))).toBe(1);
  });

  test("keys are per owner: two owners using one key each get their own sandbox", async () => {
    const bay = await startBay();
    const mine = await createSandbox(bay, "shared-key", {});
    const theirs = await createSandbox(bay, "shared-key", {}, OTHER_OWNER);
    expect([mine.status, theirs.status]).toEqual([201, 201]);
    expect(theirs.headers.get("idempotent-replayed")).toBeNull();
    expect(((await mine.json()) as { id: string }).id).not.toBe(((await theirs.json()) as { id: string }).id);
    expect([(await sandboxCount(bay, OWNER)), (await sandboxCount(bay, OTHER_OWNER))]).toEqual([1, 1]);
  });

  test("concurrent first uses of a key run the create once and all get its answer", async () => {
    const bay = await startBay();
    const responses = await Promise.all(Array.from({ length: 8 }, () => createSandbox(bay, "racing-key", {})));
    expect(responses.map((response) => response.status)).toEqual(Array(8).fill(201));
    const ids = await Promise.all(responses.map(async (response) => ((await response.json()) as { id: string }).id));
    expect(new Set(ids).size).toBe(1);
    expect(responses.filter((response) => response.headers.get("idempotent-replayed") === "true")).toHaveLength(7);
    expect((await sandboxCount(bay))).toBe(1);
    expect(bay.driver.volumes).toHaveLength(1);
  });

  test("a failed first use is not stored: a retry with the key runs again", async () => {
    const bay = await startBay();
    bay.driver.failNext("createVolume", new BayError("driver_unavailable", "the engine is restarting"));
    const failed = await createSandbox(bay, "retry-key", {});
    expect(failed.status).toBe(503);
    const retry = await createSandbox(bay, "retry-key", {});
    expect(retry.status).toBe(201);
    expect(retry.headers.get("idempotent-replayed")).toBeNull();
    expect((await sandboxCount(bay))).toBe(1);
  });

  test("a malformed key is refused with 409 conflict (as shipyard-neo answers) before anything is created", async () => {
    const bay = await startBay();
    const response = await createSandbox(bay, "not a key!", {});
    expect(response.status).toBe(409);
    const body = (await response.json()) as ErrorEnvelope;
    expect(body.error.code).toBe("conflict");
    expect(body.error.details.field).toBe("Idempotency-Key");
    expect((await sandboxCount(bay))).toBe(0);
    expect(bay.driver.volumes).toEqual([]);
  });
});
