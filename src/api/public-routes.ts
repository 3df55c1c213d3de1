/**
 * The one list of routes that answer without an API key. Every other route
 * is authenticated as soon as its headers arrive, before any body byte is
 * read (app.ts), so that an unknown caller cannot make Bay read, parse or
 * validate anything.
 */
const PUBLIC_ROUTES: { methods: readonly string[]; path: RegExp }[] = [
  { methods: ["GET", "HEAD"], path: /^\/health$/ },
  { methods: ["GET", "HEAD"], path: /^\/v1\/profiles$/ },
  { methods: ["GET", "HEAD"], path: /^\/metrics$/ },
  { methods: ["GET", "HEAD"], path: /^\/openapi(\/.*)?$/ },
  // The dashboard's page, script and style; its data comes from the API with a key.
  { methods: ["GET", "HEAD"], path: /^\/ui(\/app\.(js|css))?$/ },
];

/** The path of a request URL, without query and without a trailing slash (the router ignores it too). */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const end = url.indexOf("?", start);
  const path = end < 0 ? url.slice(start) : url.slice(start, end);
  return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
}

export function isPublicRoute(request: Request): boolean {
  const path = pathOf(request.url);
  return PUBLIC_ROUTES.some((route) => route.methods.includes(request.method) && route.path.test(path));
}
