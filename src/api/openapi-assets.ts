import { Elysia } from "elysia";
import swaggerUiScript from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "file" };
import swaggerUiStyle from "swagger-ui-dist/swagger-ui.css" with { type: "file" };

/**
 * The API reference page's script and style, embedded in the binary
 * (`with { type: "file" }`) and served by Bay itself, so that /openapi
 * renders on a host without internet. Under /openapi/, which is public.
 */
const ASSETS = {
  script: { path: "/openapi/assets/swagger-ui-bundle.js", file: swaggerUiScript, contentType: "text/javascript; charset=utf-8" },
  style: { path: "/openapi/assets/swagger-ui.css", file: swaggerUiStyle, contentType: "text/css; charset=utf-8" },
};

export const OPENAPI_ASSET_PATHS: readonly string[] = Object.values(ASSETS).map((asset) => asset.path);

/** Relative to the page, as is the document URL the page loads ("openapi/json"). */
const relativeToPage = (path: string) => path.slice(1);

/** The OpenAPI plugin's `swagger` options that point its page at the embedded assets instead of a CDN. */
export const SWAGGER_UI_ASSETS = {
  cdn: relativeToPage(ASSETS.script.path),
  theme: relativeToPage(ASSETS.style.path),
};

export function openApiAssetRoutes() {
  const routes = new Elysia({ name: "openapi-assets" });
  for (const asset of Object.values(ASSETS)) {
    routes.get(asset.path, () => new Response(Bun.file(asset.file), { headers: { "content-type": asset.contentType } }), {
      detail: { hide: true },
    });
  }
  return routes;
}
