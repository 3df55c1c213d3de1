import { Elysia } from "elysia";

/**
 * The dashboard at /ui: three files from inside the executable
 * (src/ui/assets.ts), loaded on the first visit so that a daemon nobody
 * opens the dashboard of never holds them. The page is public, like
 * /openapi; what it shows comes from the API with the key signed in with.
 * Its content security policy lets it reach Bay only.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const FILES = {
  "/ui": { asset: "page", type: "text/html; charset=utf-8" },
  "/ui/app.js": { asset: "script", type: "text/javascript; charset=utf-8" },
  "/ui/app.css": { asset: "style", type: "text/css; charset=utf-8" },
} as const;

export const DASHBOARD_PATHS: readonly string[] = Object.keys(FILES);

export function dashboardRoutes() {
  const routes = new Elysia({ name: "dashboard" });
  for (const [path, file] of Object.entries(FILES)) {
    routes.get(
      path,
      async () => {
        const { DASHBOARD_ASSETS } = await import("../../ui/assets.ts");
        return new Response(DASHBOARD_ASSETS[file.asset], {
          headers: {
            "content-type": file.type,
            "content-security-policy": CONTENT_SECURITY_POLICY,
            "x-content-type-options": "nosniff",
            "cache-control": "no-cache",
          },
        });
      },
      { detail: { hide: true } },
    );
  }
  return routes;
}
