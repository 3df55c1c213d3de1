/**
 * The dashboard at /ui of the compiled `bay serve`, driven in headless
 * Chromium (Debian's, through playwright-core) against the real engine,
 * with every request outside Bay's own origin aborted and recorded: sign-in,
 * live sandbox list, the console with streamed output and Stop, files
 * (browse, upload, download), stop/extend/delete, cargos, and the admin
 * page, which a non-admin key does not get. Screenshots go to
 * test-artifacts/dashboard/.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { Bay } from "../../src/client/index.ts";
import { REPO_ROOT } from "../helpers/env.ts";
import { containersWithLabel } from "../helpers/docker.ts";
import { useServeProcess } from "../helpers/serve-process.ts";

setDefaultTimeout(180_000);

/** The page's document, as the functions below that run in the browser use it (the test's own types have no DOM). */
declare const document: { querySelector(selector: string): { textContent: string | null } | null; querySelectorAll(selector: string): { length: number } };

const CHROMIUM = process.env.BAY_TEST_CHROMIUM ?? "/usr/bin/chromium";
const ARTIFACT_DIR = join(REPO_ROOT, "test-artifacts", "dashboard");
const ADMIN_KEY = "dashboard-admin-key-0123456789";
const ALICE_KEY = "dashboard-alice-key-0123456789";
const configFile = join(tmpdir(), `bay-dashboard-${process.pid}.json`);
writeFileSync(
  configFile,
  JSON.stringify({ security: { api_keys: [{ key: ADMIN_KEY, owner: "operator", admin: true }, { key: ALICE_KEY, owner: "alice" }] } }),
);
const server = useServeProcess({}, ["--config", configFile]);
let browser: Browser;
const outside: string[] = [];

beforeAll(async () => {
  mkdirSync(ARTIFACT_DIR, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // Root here: no setuid sandbox. The proxy is a closed loopback port: nothing leaves the machine even if routed.
    args: ["--no-sandbox", "--proxy-server=http://127.0.0.1:9"],
  });
});

afterAll(async () => {
  await browser?.close();
});

/** A fresh browser context on /ui, with every request outside Bay aborted and recorded. */
async function openDashboard(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 }, acceptDownloads: true });
  const bayOrigin = new URL(server.url).origin;
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.origin === bayOrigin || url.protocol === "data:" || url.protocol === "blob:") return route.continue();
    outside.push(url.href);
    return route.abort("blockedbyclient");
  });
  const page = await context.newPage();
  page.on("dialog", (dialog) => void dialog.accept());
  await page.goto(`${server.url}/ui`);
  return { context, page };
}

async function signIn(page: Page, key: string): Promise<void> {
  await page.fill("input[name=api-key]", key);
  await page.click("button[type=submit]");
}

const shot = (page: Page, name: string) => page.screenshot({ path: join(ARTIFACT_DIR, `${name}.png`), fullPage: true });
const adminBay = () => new Bay({ url: server.url, apiKey: ADMIN_KEY });

describe("the dashboard at /ui", () => {
  test("is Bay's own page, script and style, with a policy that lets it reach nothing but Bay", async () => {
    for (const [path, type] of [["/ui", "text/html"], ["/ui/app.js", "text/javascript"], ["/ui/app.css", "text/css"]] as const) {
      const response = await fetch(`${server.url}${path}`);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toStartWith(type);
      expect(response.headers.get("content-security-policy")).toContain("default-src 'none'");
      expect(response.headers.get("content-security-policy")).toContain("connect-src 'self'");
    }
    // The data behind it is not public.
    expect((await fetch(`${server.url}/v1/sandboxes`)).status).toBe(401);
  });

  test("signs in with a key: a wrong key is refused and said so", async () => {
    const { context, page } = await openDashboard();
    await signIn(page, "not-a-key-of-this-bay");
    await page.waitForSelector(".sign-in .error");
    expect(await page.textContent(".sign-in .error")).toContain("unauthorized");
    await shot(page, "sign-in-refused");
    await signIn(page, ADMIN_KEY);
    await page.waitForSelector("section.sandboxes");
    expect(await page.textContent("nav")).toContain("Admin");
    await context.close();
  });

  test("sandboxes live; a console that streams; files; stop, extend and delete", async () => {
    const { context, page } = await openDashboard();
    await signIn(page, ADMIN_KEY);
    await page.waitForSelector("section.sandboxes td.empty");

    // Created behind the page's back: the list shows it without a reload.
    const made = await adminBay().sandboxes.create({ ttl: 900, metadata: { via: "api" } });
    await page.waitForSelector(`tr[data-sandbox="${made.id}"]`);
    expect(await page.textContent(`tr[data-sandbox="${made.id}"] [data-status]`)).toBe("idle");
    expect(await page.textContent(`tr[data-sandbox="${made.id}"] td.ttl`)).toMatch(/^in 1[45]m/);

    // Created from the page.
    await page.fill("input[name=ttl]", "1200");
    await page.click("section.sandboxes button[type=submit]");
    await page.waitForFunction(() => document.querySelectorAll("tr[data-sandbox]").length === 2);
    await shot(page, "sandboxes");

    await page.click(`a[href="#/sandboxes/${made.id}"]`);
    await page.waitForSelector("section.console textarea");

    // Python: output arrives while the cell still runs, then the outcome.
    await page.fill("textarea[name=code]", "import time\nprint('first', flush=True)\ntime.sleep(2)\nprint('second')\nanswer = 6 * 7\nanswer");
    await page.click("section.console button[type=submit]");
    await page.waitForFunction(() => document.querySelector(".output")?.textContent?.includes("first"));
    expect(await page.textContent(".output")).not.toContain("second");
    expect(await page.isDisabled("section.console button[type=button]")).toBe(false);
    await page.waitForSelector(".outcome.ok");
    expect(await page.textContent(".output")).toBe("first\nsecond\n42\n");
    await page.waitForFunction(() => document.querySelector('[data-fact="status"]')?.textContent === "ready");

    // Stop interrupts a long run: the kernel keeps its state and is free at once.
    await page.fill("textarea[name=code]", "import time\nprint('waiting', flush=True)\ntime.sleep(120)\nanswer = 0");
    await page.click("section.console button[type=submit]");
    await page.waitForFunction(() => document.querySelector(".output")?.textContent?.includes("waiting"));
    await page.click("section.console button[type=button]");
    await page.waitForFunction(() => document.querySelector(".outcome")?.textContent === "stopped");
    expect((await adminBay().python.exec(made.id, { code: "print(answer)" })).output).toBe("42\n");

    // Shell, with its exit code.
    await page.selectOption("select[name=language]", "shell");
    await page.fill("textarea[name=code]", "mkdir -p data && echo hello > data/hello.txt && echo to-stderr >&2; exit 3");
    await page.click("section.console button[type=submit]");
    await page.waitForSelector(".outcome.failed");
    expect(await page.textContent(".outcome")).toContain("exit code 3");
    expect(await page.textContent(".output .stderr")).toBe("to-stderr\n");
    await shot(page, "console");

    // Files: browse into data/, upload there, download what is there.
    await page.waitForSelector('tr[data-entry="data"]');
    await page.click('tr[data-entry="data"] button.dir');
    await page.waitForSelector('tr[data-entry="hello.txt"]');
    const upload = join(tmpdir(), `upload-${process.pid}.bin`);
    const uploaded = new Uint8Array(4096).map((_, index) => (index * 7) % 256);
    writeFileSync(upload, uploaded);
    await page.setInputFiles("input[name=upload]", upload);
    await page.waitForSelector(`tr[data-entry="upload-${process.pid}.bin"]`);
    expect(await adminBay().files.download(made.id, `data/upload-${process.pid}.bin`)).toEqual(uploaded);
    const [download] = await Promise.all([page.waitForEvent("download"), page.click('tr[data-entry="hello.txt"] button.file')]);
    expect(download.suggestedFilename()).toBe("hello.txt");
    expect(readFileSync((await download.path())!, "utf8")).toBe("hello\n");
    await shot(page, "sandbox");

    // Extend, stop, delete.
    const before = Date.parse((await adminBay().sandboxes.get(made.id)).expires_at!);
    await page.selectOption("select[name=extend-by]", "3600");
    await page.click("button[data-action=extend]");
    await page.waitForFunction(() => document.querySelector(".notice")?.textContent?.startsWith("extended"));
    expect(Date.parse((await adminBay().sandboxes.get(made.id)).expires_at!)).toBeGreaterThan(before + 3_000_000);
    await page.click("button[data-action=stop]");
    // The stop's own answer, not the list's next poll, which may show idle while the container is still being removed.
    await page.waitForFunction((id) => document.querySelector(".notice")?.textContent?.startsWith(`stopped ${id}`), made.id);
    await page.waitForFunction(() => document.querySelector('[data-fact="status"]')?.textContent === "idle");
    expect(containersWithLabel(`bay.sandbox_id=${made.id}`)).toEqual([]);
    await page.click("button[data-action=delete]");
    await page.waitForSelector("section.sandboxes");
    await page.waitForFunction((id) => !document.querySelector(`tr[data-sandbox="${id}"]`), made.id);
    expect((await adminBay().sandboxes.listAll()).map((sandbox) => sandbox.id)).not.toContain(made.id);
    await context.close();
  });

  test("cargos: create and delete; the ones sandboxes manage on request", async () => {
    const { context, page } = await openDashboard();
    await signIn(page, ADMIN_KEY);
    await page.click('a[href="#/cargos"]');
    await page.waitForSelector("section.cargos td");
    await page.fill("input[name=size]", "256");
    await page.click("section.cargos button[type=submit]");
    await page.waitForSelector("tr[data-cargo]");
    const [cargo] = await adminBay().cargos.listAll();
    expect(cargo!.size_limit_mb).toBe(256);
    await shot(page, "cargos");
    await page.click(`tr[data-cargo="${cargo!.id}"] button`);
    await page.waitForSelector("section.cargos td.empty");
    expect(await adminBay().cargos.listAll()).toEqual([]);
    // The sandbox created from the page in the test before has a managed cargo.
    await page.check("input[name=managed]");
    await page.waitForSelector("tr[data-cargo] a");
    await context.close();
  });

  test("the admin page: every owner, running sessions, executions; a non-admin key has no admin page", async () => {
    const alice = new Bay({ url: server.url, apiKey: ALICE_KEY });
    const sandbox = await alice.sandboxes.create();
    await alice.shell.exec(sandbox.id, { command: "true" });
    const { context, page } = await openDashboard();
    await signIn(page, ADMIN_KEY);
    await page.click('a[href="#/admin"]');
    await page.waitForSelector('tr[data-owner="alice"]');
    expect(await page.textContent('tr[data-owner="alice"]')).toBe("alice110000");
    expect(Number(await page.textContent('[data-card="running"] .value'))).toBeGreaterThanOrEqual(1);
    expect(Number(await page.textContent('[data-card="executions"] .value'))).toBeGreaterThanOrEqual(4);
    await page.waitForFunction(() => /^\d+\.\d$/.test(document.querySelector('[data-card="rate"] .value')?.textContent ?? ""));
    await shot(page, "admin");
    await context.close();

    const asAlice = await openDashboard();
    await signIn(asAlice.page, ALICE_KEY);
    await asAlice.page.waitForSelector(`tr[data-sandbox="${sandbox.id}"]`);
    expect(await asAlice.page.textContent("nav")).not.toContain("Admin");
    await asAlice.page.goto(`${server.url}/ui#/admin`);
    await asAlice.page.waitForSelector("section.sandboxes");
    await asAlice.context.close();
    await alice.sandboxes.delete(sandbox.id);
  });

  test("nothing the dashboard did left Bay's origin", () => {
    expect(outside).toEqual([]);
  });
});
