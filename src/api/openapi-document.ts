import type { AnyElysia } from "elysia";

type Operation = {
  requestBody?: { required?: boolean; content?: Record<string, unknown> };
  responses?: Record<string, { content?: Record<string, unknown>; description?: string }>;
};
type OpenApiDocument = { paths?: Record<string, Record<string, Operation>> };

/** Elysia's `/:id` to OpenAPI's `/{id}`. */
const toOpenApiPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, "{$1}");

/**
 * Completes what the OpenAPI plugin leaves out for this app: request bodies
 * (it omits them when the app has its own body parser, as Bay does for size
 * limits), no content on answers without a body, and raw bytes on downloads. The
 * schemas come from the routes themselves, the ones that validate requests.
 */
export function completeOpenApiDocument(document: OpenApiDocument, app: AnyElysia): OpenApiDocument {
  const completed = structuredClone(document);
  for (const route of app.routes) {
    const operation = completed.paths?.[toOpenApiPath(route.path)]?.[route.method.toLowerCase()];
    if (!operation) continue;
    const body = (route.hooks as { body?: { required?: string[]; properties?: Record<string, { format?: string }> } }).body;
    if (body) {
      const schema = JSON.parse(JSON.stringify(body));
      const multipart = Object.values(body.properties ?? {}).some((property) => property.format === "binary");
      operation.requestBody = {
        required: (body.required ?? []).length > 0,
        content: { [multipart ? "multipart/form-data" : "application/json"]: { schema } },
      };
    }
    // An answer without a body (204, and 202 where the route declares it void) has no content.
    const declared = (route.hooks as { response?: Record<string, { type?: string } | undefined> }).response ?? {};
    for (const [status, response] of Object.entries(operation.responses ?? {})) {
      if (status === "204" || declared[status]?.type === "void") delete response.content;
    }
    if (route.path.endsWith("/download") && operation.responses?.["200"]) {
      operation.responses["200"] = {
        description: "The file's raw bytes",
        content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } },
      };
    }
  }
  return completed;
}
