/**
 * The SDK as published: `scripts/build-sdk.ts` builds and packs it, the
 * tarball is installed into a fresh project with npm (no network: the
 * package has no dependencies), test/sdk-package/scenario.ts is type-checked
 * there by `tsc --strict` against the package's declarations alone, and the
 * compiled scenario runs under Node.js and under Bun against a live daemon.
 */
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { useServeProcess } from "../helpers/serve-process.ts";

setDefaultTimeout(300_000);

const ROOT = resolve(import.meta.dir, "../..");
const API_KEY = "sdk-package-key-0123456789abcdef";
const server = useServeProcess({ BAY_API_KEY: API_KEY });
let project: string;
let tarball: string;

function run(argv: string[], cwd: string, env: Record<string, string> = {}): { exitCode: number; output: string } {
  const result = Bun.spawnSync(argv, { cwd, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root", ...env }, stderr: "pipe" });
  return { exitCode: result.exitCode, output: `${result.stdout.toString()}${result.stderr.toString()}` };
}

function expectSuccess(result: { exitCode: number; output: string }): string {
  expect({ exitCode: result.exitCode, output: result.output }).toEqual({ exitCode: 0, output: expect.any(String) });
  return result.output;
}

beforeAll(async () => {
  const work = await mkdtemp(join(tmpdir(), "bay-sdk-package-"));
  const built = expectSuccess(run(["bun", join(ROOT, "scripts/build-sdk.ts"), "--out", join(work, "dist")], ROOT));
  tarball = built.trim().split("\n").at(-1)!;
  project = join(work, "consumer");
  await Bun.write(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  await Bun.write(
    join(project, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        lib: ["ES2022", "DOM", "DOM.Iterable"],
        types: [],
        strict: true,
        noUncheckedIndexedAccess: true,
        outDir: "out",
      },
      files: ["scenario.ts", "node-globals.d.ts"],
    }),
  );
  // The consumer has no @types/node (it would need the network); declare the two Node globals the scenario uses.
  await Bun.write(
    join(project, "node-globals.d.ts"),
    [
      "declare const process: { env: Record<string, string | undefined> };",
      'declare module "node:assert/strict" {',
      "  const assert: {",
      "    ok(value: unknown, message?: string): asserts value;",
      "    equal<T>(actual: unknown, expected: T, message?: string): asserts actual is T;",
      "    deepEqual(actual: unknown, expected: unknown, message?: string): void;",
      "    match(value: string, pattern: RegExp, message?: string): void;",
      "    AssertionError: new (options: { message?: string }) => Error;",
      "  };",
      "  export default assert;",
      "}",
    ].join("\n"),
  );
  await Bun.write(join(project, "scenario.ts"), Bun.file(join(ROOT, "test/sdk-package/scenario.ts")));
  expectSuccess(run(["npm", "install", "--offline", "--no-audit", "--no-fund", tarball], project));
});

describe("the SDK package", () => {
  test("holds only its bundle, its declarations and its README, with no dependencies", async () => {
    const listing = expectSuccess(run(["tar", "tzf", tarball], project)).trim().split("\n").sort();
    expect(listing).toEqual(["package/README.md", "package/index.d.ts", "package/index.js", "package/package.json"]);
    const manifest = await Bun.file(join(project, "node_modules/bay-sdk/package.json")).json();
    expect(manifest.dependencies).toBeUndefined();
    expect(manifest.exports["."]).toEqual({ types: "./index.d.ts", default: "./index.js" });
    const bundle = await Bun.file(join(project, "node_modules/bay-sdk/index.js")).text();
    expect(bundle).not.toMatch(/\bBun\.|from "bun"|bun:/);
  });

  test("type-checks a consumer with tsc --strict, and its declarations reject wrong calls", async () => {
    const tsc = join(ROOT, "node_modules/.bin/tsc");
    expectSuccess(run([tsc, "-p", "."], project));
    // Without its @ts-expect-error lines, the scenario's three wrong calls must each be a type error.
    const scenario = await Bun.file(join(project, "scenario.ts")).text();
    await Bun.write(join(project, "wrong.ts"), scenario.replaceAll("// @ts-expect-error", "//"));
    await Bun.write(
      join(project, "tsconfig.wrong.json"),
      JSON.stringify({ extends: "./tsconfig.json", compilerOptions: { noEmit: true }, files: ["wrong.ts", "node-globals.d.ts"] }),
    );
    const wrong = run([tsc, "-p", "tsconfig.wrong.json"], project);
    expect(wrong.exitCode).not.toBe(0);
    expect(wrong.output.match(/wrong\.ts\(\d+,\d+\): error/g)?.length).toBe(3);
  });

  test("runs under Node.js against a live Bay", () => {
    expect(expectSuccess(run(["node", "--version"], project))).toMatch(/^v(2\d|[3-9]\d)\./);
    const output = expectSuccess(run(["node", "out/scenario.js"], project, { BAY_URL: server.url, BAY_API_KEY: API_KEY }));
    expect(output).toMatch(/sdk scenario: 9 checks passed/);
  });

  test("runs under Bun against a live Bay", () => {
    const output = expectSuccess(run(["bun", "out/scenario.js"], project, { BAY_URL: server.url, BAY_API_KEY: API_KEY }));
    expect(output).toMatch(/sdk scenario: 9 checks passed/);
  });
});
