import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import {
  authorizationOf,
  expectErrorShape,
  startTestBay,
  type TestBay,
  THREE_OWNERS_CONFIG,
  useTestBay,
} from "../helpers/test-bay.ts";
import { volumesWithLabel } from "../helpers/docker.ts";

// Real containers start here; each test gets room, and no test asserts speed.
setDefaultTimeout(60_000);

const ALICE = authorizationOf("alice");
const BOB = authorizationOf("bob");

const bay = useTestBay({ config: THREE_OWNERS_CONFIG });

const createSandbox = (key: string | null, body: unknown = {}, who = ALICE) =>
  bay.request("POST", "/v1/sandboxes", body, { ...who, ...(key === null ? {} : { "idempotency-key": key }) });
const sandboxIds = async (who = ALICE) => (await bay.request("GET", "/v1/sandboxes?limit=200", undefined, who)).body.items.map((s: any) => s.id);

describe("Idempotency-Key on POST /v1/sandboxes", () => {
  test("a retry replays the first answer and creates nothing more", async () => {
    const before = await sandboxIds();
    const first = await createSandbox("create-once-1", { ttl: 600 });
    expect(first.status).toBe(201);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    const again = await createSandbox("create-once-1", { ttl: 600 });
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body).toEqual(first.body);
    expect(await sandboxIds()).toEqual([...before, first.body.id]);
    expect(volumesWithLabel(`bay.sandbox_id=${first.body.id}`).length).toBe(1);
  });

  test("the body is compared normalised: key order and spelled-out defaults do not matter", async () => {
    const first = await createSandbox("normalised-1", { ttl: 60, profile: "python-default" });
    const again = await createSandbox("normalised-1", { profile: "python-default", ttl: 60 });
    expect(again.body.id).toBe(first.body.id);
    const implicit = await createSandbox("normalised-2", {});
    expect((await createSandbox("normalised-2", { profile: "python-default" })).body.id).toBe(implicit.body.id);
  });

  test("the same key with a different body is 409 conflict", async () => {
    await createSandbox("reused-key-1", { ttl: 60 });
    const error = expectErrorShape(await createSandbox("reused-key-1", { ttl: 120 }), 409, "conflict");
    expect(error.details.idempotency_key).toBe("reused-key-1");
  });

  test("a malformed key is 409 conflict (as shipyard-neo answers) and creates nothing", async () => {
    const before = await sandboxIds();
    for (const key of ["has space", "x".repeat(129), "semi;colon", "ünïcode"]) {
      const error = expectErrorShape(await createSandbox(key), 409, "conflict");
      expect(error.details.field).toBe("Idempotency-Key");
    }
    expect(await sandboxIds()).toEqual(before);
  });

  test("keys are scoped per owner", async () => {
    const alice = await createSandbox("shared-key", {}, ALICE);
    const bob = await createSandbox("shared-key", {}, BOB);
    expect(bob.status).toBe(201);
    expect(bob.headers.get("idempotent-replayed")).toBeNull();
    expect(bob.body.id).not.toBe(alice.body.id);
    expect(await sandboxIds(BOB)).toEqual([bob.body.id]);
  });

  test("only successes are stored: after a failed first use the key is free", async () => {
    expectErrorShape(await createSandbox("failed-first", { profile: "does-not-exist" }), 422, "validation_error");
    const retry = await createSandbox("failed-first", { profile: "python-default" });
    expect(retry.status).toBe(201);
    expect(retry.headers.get("idempotent-replayed")).toBeNull();
  });

  test("20 concurrent first uses of one key create exactly one sandbox, and all 20 answers carry its id", async () => {
    const before = await sandboxIds();
    const answers = await Promise.all(Array.from({ length: 20 }, () => createSandbox("stampede-1", { ttl: 900 })));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(201));
    const ids = new Set(answers.map((a) => a.body.id));
    expect(ids.size).toBe(1);
    const [id] = [...ids];
    expect(await sandboxIds()).toEqual([...before, id]);
    expect(volumesWithLabel(`bay.sandbox_id=${id}`).length).toBe(1);
    expect(answers.filter((a) => a.headers.get("idempotent-replayed") === "true").length).toBe(19);
  });
});

describe("Idempotency-Key on the other creating routes", () => {
  test("POST /v1/cargos replays", async () => {
    const headers = { ...ALICE, "idempotency-key": "cargo-once" };
    const first = await bay.request("POST", "/v1/cargos", { size_limit_mb: 10 }, headers);
    const again = await bay.request("POST", "/v1/cargos", { size_limit_mb: 10 }, headers);
    expect(first.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expectErrorShape(await bay.request("POST", "/v1/cargos", { size_limit_mb: 20 }, headers), 409, "conflict");
    const cargos = (await bay.request("GET", "/v1/cargos", undefined, ALICE)).body.items;
    expect(cargos.filter((c: any) => c.id === first.body.id).length).toBe(1);
    expect(cargos.length).toBe(1);
  });

  test("POST …/extend_ttl replays without extending twice", async () => {
    const sandbox = (await createSandbox(null, { ttl: 100 })).body;
    const headers = { ...ALICE, "idempotency-key": "extend-once" };
    const first = await bay.request("POST", `/v1/sandboxes/${sandbox.id}/extend_ttl`, { extend_by: 50 }, headers);
    const again = await bay.request("POST", `/v1/sandboxes/${sandbox.id}/extend_ttl`, { extend_by: 50 }, headers);
    expect(first.status).toBe(200);
    expect(Date.parse(first.body.expires_at) - Date.parse(sandbox.expires_at)).toBe(50_000);
    expect(again.body.expires_at).toBe(first.body.expires_at);
    expect((await bay.request("GET", `/v1/sandboxes/${sandbox.id}`, undefined, ALICE)).body.expires_at).toBe(first.body.expires_at);
  });
});

describe("Idempotency-Key expiry", () => {
  let shortLived: TestBay;

  beforeAll(async () => {
    // 0.0005 h = 1.8 s
    shortLived = await startTestBay({ config: { idempotency: { ttl_hours: 0.0005 } } });
  });

  afterAll(async () => {
    await shortLived.close();
  });

  test("after the key's TTL, the same key runs the request again", async () => {
    const headers = { "idempotency-key": "expires-soon" };
    const first = await shortLived.request("POST", "/v1/sandboxes", {}, headers);
    expect((await shortLived.request("POST", "/v1/sandboxes", {}, headers)).body.id).toBe(first.body.id);
    await Bun.sleep(2000);
    const later = await shortLived.request("POST", "/v1/sandboxes", {}, headers);
    expect(later.status).toBe(201);
    expect(later.body.id).not.toBe(first.body.id);
  });
});
