import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { expectErrorShape, useMemoryBay } from "../helpers/memory-bay.ts";
import { TEST_API_KEY } from "../helpers/env.ts";

// On the in-memory driver: the HTTP contract needs no engine.
setDefaultTimeout(60_000);

const bay = useMemoryBay();

describe("the error envelope on every kind of bad input", () => {
  test("an unknown route is 404 not_found in the envelope", async () => {
    expectErrorShape(await bay.request("GET", "/v1/nothing-here"), 404, "not_found");
    expectErrorShape(await bay.request("POST", "/v2/sandboxes", {}), 404, "not_found");
  });

  test("no key or a wrong key is 401 unauthorized", async () => {
    expectErrorShape(await bay.request("GET", "/v1/sandboxes", undefined, { authorization: "" }), 401, "unauthorized");
    expectErrorShape(
      await bay.request("GET", "/v1/sandboxes", undefined, { authorization: "Bearer not-the-key-at-all" }),
      401,
      "unauthorized",
    );
    expectErrorShape(
      await bay.request("POST", "/v1/sandboxes/sandbox-000000000000/python/exec", { code: "1" }, { authorization: "Basic abc" }),
      401,
      "unauthorized",
    );
  });

  test("/health and /v1/profiles need no key", async () => {
    const health = await bay.request("GET", "/health", undefined, { authorization: "" });
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: "ok", driver: { name: bay.core.driver.name, status: "ok" } });
    expect(typeof health.body.version).toBe("string");

    const profiles = await bay.request("GET", "/v1/profiles", undefined, { authorization: "" });
    expect(profiles.status).toBe(200);
    expect(profiles.body.items[0]).toMatchObject({
      id: "python-default",
      image: bay.config.profiles[0]!.image,
      resources: { cpus: 1, memory: "1g" },
      capabilities: ["filesystem", "shell", "python"],
      idle_timeout: 1800,
    });
    expect(profiles.body.items[0].env).toBeUndefined();
  });

  test("wrong types in a body are 422 validation_error naming the field", async () => {
    const ttl = expectErrorShape(await bay.request("POST", "/v1/sandboxes", { ttl: "soon" }), 422, "validation_error");
    expect(ttl.details.field).toBe("ttl");
    const negative = expectErrorShape(await bay.request("POST", "/v1/sandboxes", { ttl: -5 }), 422, "validation_error");
    expect(negative.details.field).toBe("ttl");
    const profile = expectErrorShape(await bay.request("POST", "/v1/sandboxes", { profile: 42 }), 422, "validation_error");
    expect(profile.details.field).toBe("profile");
  });

  test("a body that is not JSON is 422 validation_error", async () => {
    expectErrorShape(await bay.request("POST", "/v1/sandboxes", "{not json"), 422, "validation_error");
  });

  test("an unknown profile is 422 validation_error naming the profile, and creates nothing", async () => {
    const error = expectErrorShape(await bay.request("POST", "/v1/sandboxes", { profile: "gpu-huge" }), 422, "validation_error");
    expect(error.message).toContain("gpu-huge");
    expect(error.details).toMatchObject({ profile: "gpu-huge", available: ["python-default"] });
    expect((await bay.request("GET", "/v1/sandboxes")).body.items).toEqual([]);
  });

  test("an unknown cargo id is 404", async () => {
    expectErrorShape(await bay.request("POST", "/v1/sandboxes", { cargo_id: "ws-000000000000" }), 404, "not_found");
  });

  test("an unknown sandbox id is 404 on every sandbox route", async () => {
    const id = "sandbox-0123456789ab";
    expectErrorShape(await bay.request("GET", `/v1/sandboxes/${id}`), 404, "not_found");
    expectErrorShape(await bay.request("POST", `/v1/sandboxes/${id}/keepalive`), 404, "not_found");
    expectErrorShape(await bay.request("POST", `/v1/sandboxes/${id}/stop`), 404, "not_found");
    expectErrorShape(await bay.request("DELETE", `/v1/sandboxes/${id}`), 404, "not_found");
    expectErrorShape(await bay.request("POST", `/v1/sandboxes/${id}/python/exec`, { code: "1" }), 404, "not_found");
  });

  test("python/exec checks its body: code must be a string, timeout 1..300", async () => {
    const created = (await bay.request("POST", "/v1/sandboxes", {})).body;
    const path = `/v1/sandboxes/${created.id}/python/exec`;
    expect(expectErrorShape(await bay.request("POST", path, {}), 422, "validation_error").details.field).toBe("code");
    expect(expectErrorShape(await bay.request("POST", path, { code: 5 }), 422, "validation_error").details.field).toBe("code");
    expect(expectErrorShape(await bay.request("POST", path, { code: "1", timeout: 0 }), 422, "validation_error").details.field).toBe("timeout");
    expect(expectErrorShape(await bay.request("POST", path, { code: "1", timeout: 301 }), 422, "validation_error").details.field).toBe("timeout");
    // None of these started compute.
    expect((await bay.request("GET", `/v1/sandboxes/${created.id}`)).body.status).toBe("idle");
    expect((await bay.request("DELETE", `/v1/sandboxes/${created.id}`)).status).toBe(204);
  });

  test("list query parameters are validated", async () => {
    expectErrorShape(await bay.request("GET", "/v1/sandboxes?limit=0"), 422, "validation_error");
    expectErrorShape(await bay.request("GET", "/v1/sandboxes?limit=201"), 422, "validation_error");
    expectErrorShape(await bay.request("GET", "/v1/sandboxes?status=sleeping"), 422, "validation_error");
    expectErrorShape(await bay.request("GET", "/v1/sandboxes?cursor=garbage"), 422, "validation_error");
  });

  test("a sent X-Request-Id is echoed, on successes and errors alike; a missing one is generated", async () => {
    const ok = await bay.request("GET", "/v1/profiles", undefined, { "x-request-id": "trace-abc.123" });
    expect(ok.headers.get("x-request-id")).toBe("trace-abc.123");
    const error = await bay.request("GET", "/v1/sandboxes/sandbox-0123456789ab", undefined, { "x-request-id": "trace-xyz" });
    expect(error.headers.get("x-request-id")).toBe("trace-xyz");
    expect(error.body.error.request_id).toBe("trace-xyz");
    const generated = await bay.request("GET", "/v1/profiles");
    expect(generated.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    // An id that could inject into headers or logs is replaced, not echoed.
    const unsafe = await bay.request("GET", "/v1/profiles", undefined, { "x-request-id": "a b<script>" });
    expect(unsafe.headers.get("x-request-id")).not.toBe("a b<script>");
  });

  test("the OpenAPI document lists every route of this issue", async () => {
    const response = await bay.request("GET", "/openapi/json", undefined, { authorization: "" });
    expect(response.status).toBe(200);
    expect(response.body.openapi).toMatch(/^3\./);
    const paths = Object.keys(response.body.paths);
    for (const path of [
      "/health",
      "/v1/profiles",
      "/v1/sandboxes",
      "/v1/sandboxes/{id}",
      "/v1/sandboxes/{id}/keepalive",
      "/v1/sandboxes/{id}/stop",
      "/v1/sandboxes/{id}/python/exec",
    ]) {
      expect(paths).toContain(path);
    }
    expect(response.body.paths["/v1/sandboxes/{id}/python/exec"].post.requestBody).toBeDefined();
  });

  test("the test key works as a plain Bearer token", async () => {
    expect((await bay.request("GET", "/v1/sandboxes", undefined, { authorization: `Bearer ${TEST_API_KEY}` })).status).toBe(200);
  });
});
