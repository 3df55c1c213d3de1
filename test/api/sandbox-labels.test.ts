/**
 * metadata and env given at create (on the in-memory driver): metadata is
 * shown and filtered on, env is never shown, and bad entries are refused by
 * name. That env reaches processes is proven on Docker (test/e2e/sandbox-env.test.ts).
 */
import { describe, expect, test } from "bun:test";
import { parseMetadataFilter } from "../../src/core/sandbox-labels.ts";
import { expectErrorShape, useMemoryBay } from "../helpers/memory-bay.ts";

const bay = useMemoryBay();

describe("metadata", () => {
  test("shown in the view and the list; a sandbox without any has {}", async () => {
    const labelled = await bay.request("POST", "/v1/sandboxes", { metadata: { team: "ml", run: "7" } });
    expect(labelled.status).toBe(201);
    expect(labelled.body.metadata).toEqual({ team: "ml", run: "7" });
    expect((await bay.request("GET", `/v1/sandboxes/${labelled.body.id}`)).body.metadata).toEqual({ team: "ml", run: "7" });
    expect((await bay.request("POST", "/v1/sandboxes", {})).body.metadata).toEqual({});
  });

  test("lists filter on every given pair (E2B's key=value&… form, URL-encoded)", async () => {
    const a = (await bay.request("POST", "/v1/sandboxes", { metadata: { project: "filter", env: "prod" } })).body.id;
    const b = (await bay.request("POST", "/v1/sandboxes", { metadata: { project: "filter", env: "dev" } })).body.id;
    const ids = async (filter: string) =>
      ((await bay.request("GET", `/v1/sandboxes?metadata=${encodeURIComponent(filter)}`)).body.items as { id: string }[]).map((s) => s.id);
    expect(await ids("project=filter")).toEqual([a, b]);
    expect(await ids("project=filter&env=prod")).toEqual([a]);
    expect(await ids("project=filter&env=staging")).toEqual([]);
  });

  test("too many entries, or keys and values too long, are refused", async () => {
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, "v"]));
    expectErrorShape(await bay.request("POST", "/v1/sandboxes", { metadata: many }), 422, "validation_error");
    expectErrorShape(await bay.request("POST", "/v1/sandboxes", { metadata: { k: "v".repeat(1025) } }), 422, "validation_error");
    expectErrorShape(await bay.request("POST", "/v1/sandboxes", { metadata: { k: 1 } }), 422, "validation_error");
  });

  test("the filter's form", () => {
    expect(parseMetadataFilter("a=1&b=x%20y")).toEqual({ a: "1", b: "x y" });
    expect(parseMetadataFilter(undefined)).toEqual({});
  });
});

describe("env", () => {
  test("accepted at create and never shown", async () => {
    const created = await bay.request("POST", "/v1/sandboxes", { env: { API_TOKEN: "s3cret" } });
    expect(created.status).toBe(201);
    expect(JSON.stringify(created.body)).not.toContain("s3cret");
    expect(JSON.stringify((await bay.request("GET", `/v1/sandboxes/${created.body.id}`)).body)).not.toContain("s3cret");
    expect(JSON.stringify((await bay.request("GET", "/v1/sandboxes")).body)).not.toContain("s3cret");
  });

  test("a name no shell could use, or Bay's own agent token, is refused by name and creates nothing", async () => {
    const before = (await bay.request("GET", "/v1/sandboxes?limit=200")).body.items.length;
    const bad = expectErrorShape(await bay.request("POST", "/v1/sandboxes", { env: { "NOT VALID": "x" } }), 422, "validation_error");
    expect(bad.details.field).toBe("env.NOT VALID");
    const own = expectErrorShape(await bay.request("POST", "/v1/sandboxes", { env: { BAY_SHIP_TOKEN: "x" } }), 422, "validation_error");
    expect(own.details.field).toBe("env.BAY_SHIP_TOKEN");
    expect((await bay.request("GET", "/v1/sandboxes?limit=200")).body.items.length).toBe(before);
  });
});
