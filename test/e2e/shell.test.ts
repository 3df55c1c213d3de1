import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { expectErrorShape, useSandbox, useTestBay } from "../helpers/test-bay.ts";
import { containersWithLabel } from "../helpers/docker.ts";

// Real containers start here; each test gets room, and no test asserts speed.
setDefaultTimeout(60_000);

const bay = useTestBay();
const sandbox = useSandbox(bay);

const shell = (body: Record<string, unknown>) => bay.request("POST", `/v1/sandboxes/${sandbox.id}/shell/exec`, body);
const run = async (command: string, extra: Record<string, unknown> = {}) => (await shell({ command, ...extra })).body;

/** Names of the processes running in the sandbox, from /proc (the image has no ps). */
async function processNames(): Promise<string[]> {
  const listing = await run("for p in /proc/[0-9]*; do cat $p/comm 2>/dev/null; done");
  return listing.output.split("\n").filter(Boolean);
}

describe("shell/exec", () => {
  test("stdout is output, stderr is error, exit code as is; success means exit code 0", async () => {
    const result = await run("echo out; echo err >&2; exit 3");
    expect(result).toMatchObject({ success: false, output: "out\n", error: "err\n", exit_code: 3 });
    expect(result.execution_id).toMatch(/^exec-[0-9a-f]{12}$/);
    expect(typeof result.execution_time_ms).toBe("number");
    expect(await run("true")).toMatchObject({ success: true, output: "", error: "", exit_code: 0 });
  });

  test("runs as an unprivileged user, in /workspace by default, with bash", async () => {
    expect((await run("id -u; id -g; pwd; echo $BASH_VERSION | cut -c1")).output).toBe("1000\n1000\n/workspace\n5\n");
    // /root is root's and 0700; the root filesystem being read-only would not tell us who we are.
    const privileged = await run("ls /root");
    expect(privileged.success).toBe(false);
    expect(privileged.error).toContain("Permission denied");
  });

  test("cwd (relative to /workspace) and env apply to the command", async () => {
    await run("mkdir -p project/src");
    const result = await run("pwd; echo \"$GREETING $NAME\"", { cwd: "project/src", env: { GREETING: "hello", NAME: "bay" } });
    expect(result).toMatchObject({ success: true, output: "/workspace/project/src\nhello bay\n" });
    expect((await run("echo ${GREETING:-unset}")).output).toBe("unset\n");
  });

  test("a cwd that escapes /workspace, directly or through a symlink, is 400 invalid_path; a missing one 404", async () => {
    for (const cwd of ["/tmp", "..", "project/../../etc", "a\u0000b"]) {
      expect(expectErrorShape(await shell({ command: "pwd", cwd }), 400, "invalid_path").details.field).toBe("cwd");
    }
    await run("ln -sfn /etc etc-link");
    expectErrorShape(await shell({ command: "pwd", cwd: "etc-link" }), 400, "invalid_path");
    expectErrorShape(await shell({ command: "pwd", cwd: "no/such/dir" }), 404, "file_not_found");
  });

  test("on timeout the whole process group is killed, exit_code is -1 and the output so far is returned", async () => {
    const result = await run("sleep 1000 & echo started; sleep 600", { timeout: 2 });
    expect(result).toMatchObject({ success: false, exit_code: -1, output: "started\n" });
    expect(result.error).toContain("timed out after 2 s");
    expect(await processNames()).not.toContain("sleep");
  });

  test("background processes outlive a command that ends normally (daemons keep running)", async () => {
    await run("nohup sleep 300 >/dev/null 2>&1 &");
    expect(await processNames()).toContain("sleep");
    await run("pkill sleep || kill $(for p in /proc/[0-9]*; do [ \"$(cat $p/comm 2>/dev/null)\" = sleep ] && basename $p; done)");
  });

  test("output past the cap is truncated with a marker and truncated:true", async () => {
    const result = await run("head -c 3000000 /dev/zero | tr '\\0' x; head -c 2000000 /dev/zero | tr '\\0' y >&2");
    expect(result.truncated).toBe(true);
    expect(result.output.startsWith("x".repeat(1000))).toBe(true);
    expect(result.output).toContain("[output truncated: 1951424 bytes dropped]");
    expect(result.error).toContain("[output truncated: 951424 bytes dropped]");
  });

  test("bad bodies are 422 validation_error and start nothing", async () => {
    const fresh = (await bay.request("POST", "/v1/sandboxes", {})).body.id;
    const path = `/v1/sandboxes/${fresh}/shell/exec`;
    expectErrorShape(await bay.request("POST", path, {}), 422, "validation_error");
    expectErrorShape(await bay.request("POST", path, { command: "" }), 422, "validation_error");
    expectErrorShape(await bay.request("POST", path, { command: "true", timeout: 0 }), 422, "validation_error");
    expectErrorShape(await bay.request("POST", path, { command: "true", env: { "BAD NAME": "x" } }), 422, "validation_error");
    expectErrorShape(await bay.request("POST", path, { command: "true", env: { OK: 1 } }), 422, "validation_error");
    expect(containersWithLabel(`bay.sandbox_id=${fresh}`)).toEqual([]);
  });
});
