/**
 * Owners cannot grow without bound: external cargos have a per-owner quota
 * (max_cargos), and no sandbox lives past the configured max TTL — nor, with
 * none configured, past ten years, however often extend_ttl is called (once
 * ~28 000 calls pushed expires_at past the largest date, and the owner's list
 * answered 500).
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TTL_CEILING_SECONDS } from "../../src/core/ttl.ts";
import { volumesWithLabel } from "../helpers/docker.ts";
import {
  authorizationOf,
  expectErrorShape,
  THREE_OWNERS_CONFIG,
  type TestBay,
  type TestOwner,
  type TestResponse,
  startTestBay,
  useTestBay,
} from "../helpers/test-bay.ts";

setDefaultTimeout(120_000);

const CARGO_LIMIT = 2;
const MAX_TTL_SECONDS = 3600;

const quotaBay = useTestBay({
  config: { ...THREE_OWNERS_CONFIG, quotas: { default: { max_cargos: CARGO_LIMIT }, owners: { bob: { max_cargos: 3 } } } },
});
const unlimitedTtlBay = useTestBay({ config: THREE_OWNERS_CONFIG });
const limitedTtlBay = useTestBay({ config: { security: { ...THREE_OWNERS_CONFIG.security, max_ttl_seconds: MAX_TTL_SECONDS } } });

const as = (bay: TestBay, owner: TestOwner, method: string, path: string, body?: unknown) =>
  bay.request(method, path, body, authorizationOf(owner));

const volumesOf = (bay: TestBay) => volumesWithLabel(`bay.instance_id=${bay.instanceId}`).length;

/** A 422 validation_error naming `field`; returns the error. */
function expectTtlRefusal(response: TestResponse, field: string) {
  const error = expectErrorShape(response, 422, "validation_error");
  expect(error.details.field).toBe(field);
  return error;
}

const secondsFromNow = (iso: string) => (Date.parse(iso) - Date.now()) / 1000;

describe("max_cargos", () => {
  test("past the limit a create is 429 quota_exceeded with details, and makes no volume; a delete makes room", async () => {
    const ids: string[] = [];
    for (let i = 0; i < CARGO_LIMIT; i++) {
      const created = await as(quotaBay, "alice", "POST", "/v1/cargos", {});
      expect(created.status).toBe(201);
      ids.push(created.body.id);
    }
    const volumesBefore = volumesOf(quotaBay);
    const error = expectErrorShape(await as(quotaBay, "alice", "POST", "/v1/cargos", {}), 429, "quota_exceeded");
    expect(error.details).toEqual({ quota: "max_cargos", limit: CARGO_LIMIT, current: CARGO_LIMIT });
    expect(volumesOf(quotaBay)).toBe(volumesBefore);
    expect((await as(quotaBay, "alice", "GET", "/v1/cargos")).body.items.length).toBe(CARGO_LIMIT);

    expect((await as(quotaBay, "alice", "DELETE", `/v1/cargos/${ids[0]}`)).status).toBe(204);
    expect((await as(quotaBay, "alice", "POST", "/v1/cargos", {})).status).toBe(201);
  });

  test("managed cargos (made with a sandbox) do not count: sandboxes are bounded by max_sandboxes", async () => {
    const sandbox = await as(quotaBay, "alice", "POST", "/v1/sandboxes", {});
    expect(sandbox.status).toBe(201);
    expect((await as(quotaBay, "alice", "GET", "/v1/cargos?managed=true")).body.items.map((c: any) => c.id)).toContain(sandbox.body.cargo_id);
    // Alice is at her limit of external cargos, and still at it.
    expect((await as(quotaBay, "alice", "POST", "/v1/cargos", {})).status).toBe(429);
  });

  test("concurrent creates cannot overshoot: the count is taken in the insert's transaction", async () => {
    const answers = await Promise.all(Array.from({ length: 8 }, () => as(quotaBay, "tester", "POST", "/v1/cargos", {})));
    expect(answers.map((a) => a.status).sort()).toEqual([201, 201, 429, 429, 429, 429, 429, 429]);
    expect((await as(quotaBay, "tester", "GET", "/v1/cargos")).body.items.length).toBe(CARGO_LIMIT);
  });

  test("limits are per owner: quotas.owners overrides the default", async () => {
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push((await as(quotaBay, "bob", "POST", "/v1/cargos", {})).status);
    expect(answers).toEqual([201, 201, 201, 429]);
  });
});

describe("TTL without a configured max: ten years at most, never an overflow", () => {
  test("repeated large extends are refused once expires_at would pass now + 10 years; the list still answers 200", async () => {
    const sandbox = (await as(unlimitedTtlBay, "alice", "POST", "/v1/sandboxes", { ttl: 60 })).body;
    const extendBy = Math.floor(TTL_CEILING_SECONDS / 2);
    const extend = () => as(unlimitedTtlBay, "alice", "POST", `/v1/sandboxes/${sandbox.id}/extend_ttl`, { extend_by: extendBy });
    expect((await extend()).status).toBe(200);

    // An attacker's loop: without the cap, ~28 000 of these pushed expires_at past the largest date.
    let accepted = 1;
    let refusal: TestResponse | undefined;
    while (!refusal && accepted < 60_000) {
      const answer = await extend();
      if (answer.status === 200) accepted++;
      else refusal = answer;
    }
    expect(accepted).toBe(1);
    const error = expectTtlRefusal(refusal!, "extend_by");
    expect(error.details.max_ttl_seconds).toBe(TTL_CEILING_SECONDS);
    expect(error.details.max_extend_by).toBeLessThan(extendBy);

    const afterFirst = (await as(unlimitedTtlBay, "alice", "GET", `/v1/sandboxes/${sandbox.id}`)).body.expires_at;
    for (let i = 0; i < 50; i++) expect((await extend()).status).toBe(422);
    const answer = await as(unlimitedTtlBay, "alice", "POST", `/v1/sandboxes/${sandbox.id}/extend_ttl`, { extend_by: TTL_CEILING_SECONDS });
    expectTtlRefusal(answer, "extend_by");

    const list = await as(unlimitedTtlBay, "alice", "GET", "/v1/sandboxes");
    expect(list.status).toBe(200);
    const listed = list.body.items.find((item: any) => item.id === sandbox.id);
    expect(listed.expires_at).toBe(afterFirst);
    expect(secondsFromNow(listed.expires_at)).toBeLessThanOrEqual(TTL_CEILING_SECONDS);
  });

  test("extends within ten years still work, up to exactly the ceiling", async () => {
    const sandbox = (await as(unlimitedTtlBay, "alice", "POST", "/v1/sandboxes", { ttl: 60 })).body;
    const denied = expectTtlRefusal(
      await as(unlimitedTtlBay, "alice", "POST", `/v1/sandboxes/${sandbox.id}/extend_ttl`, { extend_by: TTL_CEILING_SECONDS }),
      "extend_by",
    );
    // What the refusal says may still be added is accepted.
    const allowed = denied.details.max_extend_by - 5;
    const extended = await as(unlimitedTtlBay, "alice", "POST", `/v1/sandboxes/${sandbox.id}/extend_ttl`, { extend_by: allowed });
    expect(extended.status).toBe(200);
  });

  test("never-expiring sandboxes (ttl 0, null or none) are still allowed, and a ttl past ten years is refused", async () => {
    for (const body of [{}, { ttl: 0 }, { ttl: null }]) {
      const created = await as(unlimitedTtlBay, "alice", "POST", "/v1/sandboxes", body);
      expect({ body, status: created.status, expires_at: created.body.expires_at }).toEqual({ body, status: 201, expires_at: null });
    }
    expectTtlRefusal(await as(unlimitedTtlBay, "alice", "POST", "/v1/sandboxes", { ttl: TTL_CEILING_SECONDS + 1 }), "ttl");
  });
});

describe("a database from before TTLs were bounded", () => {
  test("expires_at past the largest date is brought back to ten years at start, and the list answers 200", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "bay-ttl-"));
    try {
      const before = await startTestBay({ config: { ...THREE_OWNERS_CONFIG, data_dir: dataDir } });
      const sandbox = (await as(before, "alice", "POST", "/v1/sandboxes", { ttl: 60 })).body;
      // What ~28 000 unbounded extends left behind: more than the 8.64e15 ms a date can hold.
      before.core.db.$client.query("UPDATE sandboxes SET expires_at = ? WHERE id = ?").run(9e15, sandbox.id);
      await before.close();

      const after = await startTestBay({ config: { ...THREE_OWNERS_CONFIG, data_dir: dataDir } });
      try {
        const list = await as(after, "alice", "GET", "/v1/sandboxes");
        expect(list.status).toBe(200);
        expect(secondsFromNow(list.body.items[0].expires_at)).toBeLessThanOrEqual(TTL_CEILING_SECONDS);
        expect(secondsFromNow(list.body.items[0].expires_at)).toBeGreaterThan(TTL_CEILING_SECONDS - 600);
      } finally {
        await after.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe("security.max_ttl_seconds", () => {
  test("a create without ttl gets the max; a ttl past it, 0 or null is a validation error", async () => {
    const plain = await as(limitedTtlBay, "alice", "POST", "/v1/sandboxes", {});
    expect(plain.status).toBe(201);
    expect(secondsFromNow(plain.body.expires_at)).toBeGreaterThan(MAX_TTL_SECONDS - 120);
    expect(secondsFromNow(plain.body.expires_at)).toBeLessThanOrEqual(MAX_TTL_SECONDS);

    for (const ttl of [MAX_TTL_SECONDS + 1, 0, null]) {
      const error = expectTtlRefusal(await as(limitedTtlBay, "alice", "POST", "/v1/sandboxes", { ttl }), "ttl");
      expect(error.details.max_ttl_seconds).toBe(MAX_TTL_SECONDS);
    }
    expect((await as(limitedTtlBay, "alice", "POST", "/v1/sandboxes", { ttl: MAX_TTL_SECONDS })).status).toBe(201);
  });

  test("extend_ttl may not push expires_at past now + max; a refused extend leaves expires_at alone", async () => {
    const sandbox = (await as(limitedTtlBay, "alice", "POST", "/v1/sandboxes", { ttl: 600 })).body;
    const extend = (extend_by: number) => as(limitedTtlBay, "alice", "POST", `/v1/sandboxes/${sandbox.id}/extend_ttl`, { extend_by });
    const extended = await extend(1800);
    expect(extended.status).toBe(200);
    const error = expectTtlRefusal(await extend(1800), "extend_by");
    expect(error.details.max_extend_by).toBeLessThanOrEqual(MAX_TTL_SECONDS - 2400);
    expect((await as(limitedTtlBay, "alice", "GET", `/v1/sandboxes/${sandbox.id}`)).body.expires_at).toBe(extended.body.expires_at);
  });
});
