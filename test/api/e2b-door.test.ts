/**
 * The E2B front door as a door (on the in-memory driver): off until
 * configured, authenticated by X-API-KEY, and answering errors in E2B's
 * shape with Bay's request id. What E2B's SDKs do through it:
 * test/e2e/e2b-control.test.ts.
 */
import { describe, expect, test } from "bun:test";
import { TEST_API_KEY } from "../helpers/env.ts";
import { expectErrorShape, useMemoryBay } from "../helpers/memory-bay.ts";

const closed = useMemoryBay();
const open = useMemoryBay({ config: { e2b: { enabled: true } } });

const e2b = (bay: typeof open, method: string, path: string, headers: Record<string, string> = {}, body?: unknown) =>
  bay.app.handle(
    new Request(`http://localhost/e2b${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  );

describe("the E2B front door", () => {
  test("is off until e2b.enabled: /e2b is then Bay's own, a key in X-API-KEY is no key", async () => {
    expectErrorShape(await closed.request("GET", "/e2b/v2/sandboxes", undefined, { authorization: "" }), 401, "unauthorized");
    const withKey = await e2b(closed, "GET", "/v2/sandboxes", { "x-api-key": TEST_API_KEY });
    expect(withKey.status).toBe(401);
    expect(((await withKey.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
    expectErrorShape(await closed.request("GET", "/e2b/v2/sandboxes"), 404, "not_found");
  });

  test("when on, takes the key from X-API-KEY and refuses anything else with E2B's {code, message} and a request id", async () => {
    const listed = await e2b(open, "GET", "/v2/sandboxes", { "x-api-key": TEST_API_KEY });
    expect(listed.status).toBe(200);
    expect(await listed.json()).toEqual([]);
    const attempts: Record<string, string>[] = [{}, { "x-api-key": "wrong-key-0123456789" }, { authorization: `Bearer ${TEST_API_KEY}` }];
    for (const headers of attempts) {
      const refused = await e2b(open, "GET", "/v2/sandboxes", headers);
      expect(refused.status).toBe(401);
      expect(await refused.json()).toEqual({ code: 401, message: expect.stringContaining("X-API-KEY") });
      expect(refused.headers.get("x-request-id")).toMatch(/.+/);
    }
  });

  test("a missing sandbox is 404 with code 404 in the body (what the SDKs look at); bad input 422 with code 422", async () => {
    const missing = await e2b(open, "GET", "/sandboxes/sandbox-000000000000", { "x-api-key": TEST_API_KEY });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { code: number }).code).toBe(404);
    const bad = await e2b(open, "POST", "/v2/sandboxes", { "x-api-key": TEST_API_KEY }, { timeout: "soon" });
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as { code: number }).code).toBe(422);
    const unknownRoute = await e2b(open, "GET", "/no/such/route", { "x-api-key": TEST_API_KEY });
    expect(unknownRoute.status).toBe(404);
    expect(((await unknownRoute.json()) as { code: number }).code).toBe(404);
  });

  test("creates on the caller's own account: Bay's API shows the sandbox to its owner", async () => {
    const created = await e2b(open, "POST", "/v2/sandboxes", { "x-api-key": TEST_API_KEY }, { templateID: "base", metadata: { via: "e2b" } });
    expect(created.status).toBe(201);
    const body = (await created.json()) as { sandboxID: string };
    expect(body).toMatchObject({ templateID: "python-default", envdVersion: expect.stringMatching(/^\d+\.\d+\.\d+$/) });
    expect((await open.request("GET", `/v1/sandboxes/${body.sandboxID}`)).body.metadata).toEqual({ via: "e2b" });
  });
});
