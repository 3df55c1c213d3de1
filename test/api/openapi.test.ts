/**
 * The OpenAPI document at /openapi/json: valid OpenAPI 3.x, covering every
 * route the app registers with its request body, response schemas and the
 * error envelope.
 */
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { Validator } from "@seriousme/openapi-schema-validator";
import { DASHBOARD_PATHS } from "../../src/api/routes/dashboard.ts";
import { OPENAPI_ASSET_PATHS } from "../../src/api/openapi-assets.ts";
import { useMemoryBay } from "../helpers/memory-bay.ts";

setDefaultTimeout(120_000);

const bay = useMemoryBay();

const HTTP_METHODS = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];
// The reference page, its document and its assets: the UI, not the API.
/** Pages and their files, not API operations: the reference itself and the dashboard. */
const OPENAPI_ROUTES = new Set(["/openapi", "/openapi/json", ...OPENAPI_ASSET_PATHS, ...DASHBOARD_PATHS]);

interface Route {
  method: string;
  path: string;
  hasBody: boolean;
}

let doc: any;
let routes: Route[];

beforeAll(async () => {
  const response = await bay.app.handle(new Request("http://localhost/openapi/json"));
  expect(response.status).toBe(200);
  doc = await response.json();
  routes = bay.app.routes
    .filter((route) => !OPENAPI_ROUTES.has(route.path))
    .map((route) => ({
      method: route.method.toLowerCase(),
      path: route.path.replace(/:([^/]+)/g, "{$1}"),
      hasBody: Boolean((route.hooks as { body?: unknown } | undefined)?.body),
    }));
});

const operationOf = (route: Route) => doc.paths?.[route.path]?.[route.method];
const label = (route: Route) => `${route.method.toUpperCase()} ${route.path}`;

/** The schema of a response or request body, whatever its media type; undefined if none. */
function schemaOf(content: Record<string, { schema?: unknown }> | undefined): unknown {
  return Object.values(content ?? {}).find((media) => media && typeof media === "object" && media.schema !== undefined)?.schema;
}

/** Follows a local $ref (#/components/schemas/…). */
function resolve(schema: any): any {
  if (typeof schema?.$ref !== "string") return schema;
  const path = schema.$ref.replace(/^#\//, "").split("/");
  return resolve(path.reduce((node: any, key: string) => node?.[key], doc));
}

function isErrorEnvelope(schema: any): boolean {
  const error = resolve(resolve(schema)?.properties?.error);
  const fields = ["code", "message", "request_id", "details"];
  return fields.every((field) => error?.properties?.[field] !== undefined) && fields.every((field) => error?.required?.includes(field));
}

describe("the OpenAPI document", () => {
  test("validates as OpenAPI 3.x", async () => {
    expect(doc.openapi).toMatch(/^3\./);
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  test("/openapi serves an HTML UI", async () => {
    const response = await bay.app.handle(new Request("http://localhost/openapi"));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/html");
    const html = await response.text();
    expect(html).toMatch(/<html/i);
    // The UI loads the document (a URL relative to /openapi).
    expect(html).toMatch(/["'](\/openapi\/json|openapi\/json)["']/);
  });

  test("the app registers routes (the checks below are not vacuous)", () => {
    expect(routes.length).toBeGreaterThan(20);
    expect(routes.filter((route) => route.hasBody).length).toBeGreaterThan(5);
  });

  test("every route of the app appears with its method", () => {
    const missing = routes.filter((route) => !operationOf(route)).map(label);
    expect(missing).toEqual([]);
  });

  test("the document lists no operation the app does not serve", () => {
    const served = new Set(routes.map(label));
    const documented = Object.entries(doc.paths ?? {}).flatMap(([path, item]) =>
      Object.keys(item as object)
        .filter((method) => HTTP_METHODS.includes(method))
        .map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(documented.filter((operation) => !served.has(operation))).toEqual([]);
  });

  test("every route that takes a body documents a requestBody with a schema", () => {
    const undocumented = routes
      .filter((route) => route.hasBody)
      .filter((route) => schemaOf(operationOf(route)?.requestBody?.content) === undefined)
      .map(label);
    expect(undocumented).toEqual([]);
  });

  test("every /v1 route documents a 4xx error response, and every documented error is the envelope", () => {
    const problems: string[] = [];
    for (const route of routes.filter((route) => route.path.startsWith("/v1/"))) {
      const responses: Record<string, any> = operationOf(route)?.responses ?? {};
      const clientErrors = Object.keys(responses).filter((status) => /^4\d\d$/.test(status));
      if (clientErrors.length === 0) problems.push(`${label(route)}: no 4xx response`);
      for (const status of Object.keys(responses).filter((status) => /^[45]\d\d$/.test(status))) {
        if (!isErrorEnvelope(schemaOf(responses[status]?.content))) problems.push(`${label(route)} ${status}: not the error envelope`);
      }
    }
    expect(problems).toEqual([]);
  });

  test("every documented 200/201 response has a schema", () => {
    const missing: string[] = [];
    for (const route of routes) {
      const responses: Record<string, any> = operationOf(route)?.responses ?? {};
      for (const status of ["200", "201"]) {
        if (responses[status] && schemaOf(responses[status].content) === undefined) missing.push(`${label(route)} ${status}`);
      }
    }
    expect(missing).toEqual([]);
    // And every route documents some success answer.
    const withoutSuccess = routes
      .filter((route) => !Object.keys(operationOf(route)?.responses ?? {}).some((status) => /^2\d\d$/.test(status)))
      .map(label);
    expect(withoutSuccess).toEqual([]);
  });

  test("DELETE /v1/sandboxes/{id} documents both of its answers: 204 when the removal is done, 202 with Prefer: respond-async", () => {
    expect(Object.keys(operationOf({ method: "delete", path: "/v1/sandboxes/{id}", hasBody: false })?.responses ?? {})).toEqual(expect.arrayContaining(["202", "204"]));
  });
});
