import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BayError } from "../../src/shared/errors.ts";
import { normalizeWorkspacePath } from "../../src/shared/workspace-path.ts";
import { Workspace } from "../../src/agent/workspace.ts";
import { thrownBy } from "../helpers/thrown.ts";

describe("lexical path rules (Bay and agent)", () => {
  test("relative paths are normalised; inner .. is fine", () => {
    expect(normalizeWorkspacePath("a/b.txt")).toBe("a/b.txt");
    expect(normalizeWorkspacePath("a/../b")).toBe("b");
    expect(normalizeWorkspacePath("./a//b/")).toBe("a/b");
    expect(normalizeWorkspacePath(".")).toBe(".");
    expect(normalizeWorkspacePath("a/..")).toBe(".");
    expect(normalizeWorkspacePath("..foo")).toBe("..foo");
  });

  test.each([
    ["", "is empty"],
    ["/etc/passwd", "is absolute"],
    ["..", "leaves /workspace"],
    ["../etc/passwd", "leaves /workspace"],
    ["a/../../etc", "leaves /workspace"],
    ["a/\0b", "NUL"],
  ])("%j is refused as invalid_path (%s)", (path, reason) => {
    const error = thrownBy(BayError, () => normalizeWorkspacePath(path));
    expect(error.code).toBe("invalid_path");
    expect(error.status).toBe(400);
    expect(error.message).toContain(reason);
    expect(error.details.field).toBe("path");
  });

  test("the error names the field it came from", () => {
    expect(thrownBy(BayError, () => normalizeWorkspacePath("/tmp", "cwd")).details.field).toBe("cwd");
  });
});

describe("the agent's symlink-aware resolution", () => {
  const sandbox = mkdtempSync(join(tmpdir(), "bay-ws-"));
  const root = join(sandbox, "workspace");
  const outside = join(sandbox, "outside");
  mkdirSync(join(root, "dir"), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(outside, "secret"), "s");
  writeFileSync(join(root, "dir", "file"), "f");
  symlinkSync(outside, join(root, "escape"));
  symlinkSync(join(outside, "secret"), join(root, "secret-link"));
  symlinkSync(join(outside, "not-yet"), join(root, "dangling-out"));
  symlinkSync("dir", join(root, "inner-link"));
  symlinkSync("nowhere-yet", join(root, "dangling-in"));
  symlinkSync("loop-b", join(root, "loop-a"));
  symlinkSync("loop-a", join(root, "loop-b"));
  const workspace = new Workspace(root);

  afterAll(() => rmSync(sandbox, { recursive: true, force: true }));

  const refused = (path: string) => thrownBy(BayError, () => workspace.resolve(path)).code;

  test("paths inside, existing or not, resolve inside", () => {
    expect(workspace.resolve("dir/file").real).toBe(join(workspace.realRoot, "dir/file"));
    expect(workspace.resolve("new/deep/file.txt").real).toBe(join(workspace.realRoot, "new/deep/file.txt"));
    expect(workspace.resolve(".").relative).toBe(".");
  });

  test("symlinks that stay inside are followed", () => {
    expect(workspace.resolve("inner-link/file").real).toBe(join(workspace.realRoot, "dir/file"));
    expect(workspace.resolve("dangling-in").real).toBe(join(workspace.realRoot, "nowhere-yet"));
  });

  test("symlinks that lead outside are refused, dangling ones too", () => {
    expect(refused("escape")).toBe("invalid_path");
    expect(refused("escape/secret")).toBe("invalid_path");
    expect(refused("escape/new-file")).toBe("invalid_path");
    expect(refused("secret-link")).toBe("invalid_path");
    expect(refused("dangling-out")).toBe("invalid_path");
  });

  test("a symlink loop is refused instead of hanging", () => {
    expect(refused("loop-a")).toBe("invalid_path");
    expect(refused("loop-a/x")).toBe("invalid_path");
  });

  test("delete removes the entry itself: lexical is the link, real is its target", () => {
    const resolved = workspace.resolve("inner-link");
    expect(resolved.lexical).toBe(join(workspace.realRoot, "inner-link"));
    expect(resolved.real).toBe(join(workspace.realRoot, "dir"));
  });
});
