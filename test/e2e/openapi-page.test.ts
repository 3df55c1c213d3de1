/**
 * The API reference at /openapi works on a host without internet: the
 * compiled `bay serve` answers the page, its script and its style itself,
 * and headless Chromium, allowed to reach nothing but Bay's loopback
 * address, renders every route of the document. A screenshot of the page is
 * kept in test-artifacts/.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { OPENAPI_ASSET_PATHS } from "../../src/api/openapi-assets.ts";
import { BAY_BINARY, REPO_ROOT, TEST_API_KEY } from "../helpers/env.ts";
import { useServeProcess } from "../helpers/serve-process.ts";

setDefaultTimeout(60_000);

/** Debian's package (scripts/bootstrap.sh --test installs it). */
const CHROMIUM = process.env.BAY_TEST_CHROMIUM ?? "/usr/bin/chromium";
const ARTIFACT_DIR = join(REPO_ROOT, "test-artifacts");
const CONTENT_TYPES: Record<string, string> = { js: "text/javascript", css: "text/css" };
const HTTP_METHODS = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];

const server = useServeProcess({ BAY_API_KEY: TEST_API_KEY });
let browser: Browser;

beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // Root here: no setuid sandbox. The proxy is a closed loopback port, so anything the browser
    // itself might fetch outside the page fails locally; Chromium never proxies loopback.
    args: ["--no-sandbox", "--proxy-server=http://127.0.0.1:9"],
  });
});

afterAll(async () => {
  await browser?.close();
});

/** Opens /openapi with every request outside Bay's own origin aborted and recorded. */
async function openReference(): Promise<{ page: Page; outside: string[]; fromBay: Map<string, number> }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const outside: string[] = [];
  const fromBay = new Map<string, number>();
  const bayOrigin = new URL(server.url).origin;
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.origin === bayOrigin) return route.continue();
    outside.push(url.href);
    return route.abort("blockedbyclient");
  });
  const page = await context.newPage();
  page.on("response", (response) => {
    const url = new URL(response.url());
    if (url.origin === bayOrigin) fromBay.set(url.pathname, response.status());
  });
  await page.goto(`${server.url}/openapi`);
  return { page, outside, fromBay };
}

/** "METHOD /path" of every operation the document lists. */
async function documentedOperations(): Promise<string[]> {
  const doc = (await (await fetch(`${server.url}/openapi/json`)).json()) as { paths: Record<string, Record<string, unknown>> };
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((method) => HTTP_METHODS.includes(method))
      .map((method) => `${method.toUpperCase()} ${path}`),
  );
}

describe("the API reference page of the compiled binary", () => {
  test("renders every documented route from Bay's own assets, with no request leaving loopback", async () => {
    const { page, outside, fromBay } = await openReference();
    // A page that cannot load its script renders nothing: the checks below then say why.
    await page.waitForSelector(".opblock", { timeout: 30_000 }).catch(() => undefined);
    mkdirSync(ARTIFACT_DIR, { recursive: true });
    await page.screenshot({ path: join(ARTIFACT_DIR, "openapi-page.png"), fullPage: true });
    const rendered = await page.$$eval(".opblock", (blocks) =>
      blocks.map((block) => `${block.querySelector(".opblock-summary-method")?.textContent} ${block.querySelector("[data-path]")?.getAttribute("data-path")}`),
    );

    expect(outside).toEqual([]);
    // The page took its script and style from Bay, without an API key.
    for (const path of OPENAPI_ASSET_PATHS) expect(fromBay.get(path)).toBe(200);
    const documented = await documentedOperations();
    expect(documented.length).toBeGreaterThan(20);
    expect(rendered.sort()).toEqual(documented.sort());
  });

  test("the assets are the pinned package's files, embedded in the binary", async () => {
    const binary = readFileSync(BAY_BINARY);
    expect(OPENAPI_ASSET_PATHS.length).toBe(2);
    for (const path of OPENAPI_ASSET_PATHS) {
      const name = path.slice(path.lastIndexOf("/") + 1);
      const packaged = readFileSync(join(REPO_ROOT, "node_modules/swagger-ui-dist", name));
      const response = await fetch(`${server.url}${path}`);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toStartWith(CONTENT_TYPES[name.slice(name.lastIndexOf(".") + 1)]!);
      expect(Buffer.from(await response.arrayBuffer()).equals(packaged)).toBe(true);
      expect(binary.includes(packaged)).toBe(true);
    }
  });
});
