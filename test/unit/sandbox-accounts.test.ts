/** The pure parts of the sandbox user and the profile environment file: account entries, tar reading, shell quoting. */
import { describe, expect, test } from "bun:test";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SandboxAccountFiles, firstTarEntry, withSandboxGroup, withSandboxUser } from "../../drivers/docker/sandbox-user-files.ts";
import { BayError } from "../../src/shared/errors.ts";
import { profileEnvScript, shellQuote } from "../../src/agent/profile-env.ts";

describe("account files", () => {
  test("an image without uid/gid 1000 gets shipyard with home /workspace; one with them is left as it is", () => {
    expect(withSandboxUser("root:x:0:0:root:/root:/bin/bash\n")).toBe(
      "root:x:0:0:root:/root:/bin/bash\nshipyard:x:1000:1000:shipyard:/workspace:/bin/sh\n",
    );
    expect(withSandboxUser("root:x:0:0:root:/root:/bin/bash")).toEndWith("/bin/bash\nshipyard:x:1000:1000:shipyard:/workspace:/bin/sh\n");
    expect(withSandboxUser("")).toBe("shipyard:x:1000:1000:shipyard:/workspace:/bin/sh\n");
    const ubuntu = "root:x:0:0::/root:/bin/bash\nubuntu:x:1000:1000::/home/ubuntu:/bin/bash\n";
    expect(withSandboxUser(ubuntu)).toBe(ubuntu);
    expect(withSandboxGroup("root:x:0:\n")).toBe("root:x:0:\nshipyard:x:1000:\n");
    expect(withSandboxGroup("root:x:0:\nubuntu:x:1000:\n")).toBe("root:x:0:\nubuntu:x:1000:\n");
  });

  test("the first entry of a tar archive is read by its header's size", () => {
    const header = Buffer.alloc(512);
    header.write("etc/passwd", 0);
    header.write("00000000012\0", 124);
    const archive = Buffer.concat([header, Buffer.from("hello tar\n!"), Buffer.alloc(512 - 11), Buffer.alloc(1024)]);
    expect(firstTarEntry(archive).toString()).toBe("hello tar\n");
    expect(firstTarEntry(Buffer.alloc(10)).length).toBe(0);
  });
});

describe("the profile environment file", () => {
  test("each value survives a POSIX shell exactly, whatever it holds", () => {
    const values = { A: "plain", B: "it's", C: `"$HOME" \\ \`x\` !$ ;&|`, D: "", E: "two\nlines" };
    const script = profileEnvScript(Object.keys(values), values);
    expect(script.split("\n")[0]).toStartWith("#");
    expect(script.split("\n")[0]).not.toContain("=");
    const run = Bun.spawnSync(["/bin/sh", "-c", `${script}\nfor n in A B C D E; do eval "printf '%s|' \\"\\$$n\\""; done`], { env: {} });
    expect(run.stdout.toString()).toBe(`${Object.values(values).join("|")}|`);
    expect(shellQuote("a'b")).toBe(`'a'\\''b'`);
  });

  test("only the profile's names are written, in its order", () => {
    expect(profileEnvScript(["B", "A"], { A: "1", B: "2", PATH: "/bin" }).split("\n").slice(1)).toEqual(["export B='2'", "export A='1'", ""]);
  });
});

describe("the shared directory of account copies", () => {
  test("one made by another user is refused before anything is read or written there; a loose one of Bay's is tightened", async () => {
    const parent = mkdtempSync(join(tmpdir(), "bay-accounts-test-"));
    const engineCalls: string[] = [];
    const engine = async <T>(action: string, _call: () => Promise<T>): Promise<T> => {
      engineCalls.push(action);
      throw new Error("the engine must not be reached");
    };
    try {
      const planted = join(parent, "planted");
      const files = new SandboxAccountFiles({} as never, engine, planted);
      mkdirSync(planted);
      chownSync(planted, 65534, 65534);
      const refused = await files.forImage("sha256:abc", "img", {}).then(() => null, (error: unknown) => error);
      expect(refused).toBeInstanceOf(BayError);
      expect((refused as BayError).code).toBe("driver_unavailable");
      expect(readdirSync(planted)).toEqual([]);
      expect(engineCalls).toEqual([]);

      const loose = join(parent, "loose");
      mkdirSync(loose);
      chmodSync(loose, 0o777);
      await new SandboxAccountFiles({} as never, engine, loose).forImage("sha256:abc", "img", {}).catch(() => undefined);
      expect(statSync(loose).mode & 0o777).toBe(0o755);
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });
});
