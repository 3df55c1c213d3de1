import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { useSandbox, useTestBay } from "../helpers/test-bay.ts";

// Real containers start here; each test gets room, and no test asserts speed.
setDefaultTimeout(120_000);

const bay = useTestBay();
const sandbox = useSandbox(bay);

const exec = async (code: string, timeout?: number) =>
  (await bay.request("POST", `/v1/sandboxes/${sandbox.id}/python/exec`, timeout === undefined ? { code } : { code, timeout })).body;

describe("the Python kernel on an image without IPython", () => {
  test("a kernel that dies says so, and the next call gets a fresh kernel", async () => {
    await exec("before = 1");
    const died = await exec("import os\nos._exit(1)");
    expect(died.success).toBe(false);
    expect(died.kernel_restarted).toBe(true);
    expect(died.error).toContain("state was lost");
    const after = await exec("before");
    expect(after.success).toBe(false);
    expect(after.error).toContain("NameError");
    expect(after.kernel_restarted).toBeUndefined();
    expect((await exec("1 + 1")).output).toBe("2\n");
  });

  test("a kernel that dies between calls is restarted by the next call, which says the state was lost", async () => {
    expect((await exec("keep = 5\nimport os, threading\nthreading.Timer(0.3, lambda: os._exit(1)).start()")).success).toBe(true);
    await Bun.sleep(1000);
    const next = await exec("'keep' in globals()");
    expect(next).toMatchObject({ success: true, output: "False\n", kernel_restarted: true });
    expect((await exec("1")).kernel_restarted).toBeUndefined();
  });

  test("stdout and stderr are both captured, in the order printed", async () => {
    const result = await exec("import sys\nprint('one')\nprint('two', file=sys.stderr)\nprint('three')");
    expect(result.output).toBe("one\ntwo\nthree\n");
  });

  test("an object with _repr_png_ yields a PNG with the plain interpreter too", async () => {
    const result = await exec("class Img:\n    def _repr_png_(self):\n        return b'\\x89PNG fake'\nImg()");
    expect(result.data.output.images).toEqual([{ "image/png": Buffer.from("\x89PNG fake", "latin1").toString("base64") }]);
  });

  test("a call whose time runs out while queued behind another does not run later", async () => {
    const slow = exec("import time\ntime.sleep(3)\n'slow done'", 10);
    await Bun.sleep(300);
    const queued = await exec("ran_late = True", 1);
    expect(queued.success).toBe(false);
    expect(queued.error).toContain("did not run");
    expect((await slow).output).toBe("'slow done'\n");
    expect((await exec("'ran_late' in globals()")).output).toBe("False\n");
  });

  test("printing 200 MB returns a capped output with truncated:true, and Bay's memory stays bounded", async () => {
    Bun.gc(true);
    const before = process.memoryUsage().rss;
    const result = await exec("chunk = 'y' * 1_000_000\nfor _ in range(200):\n    print(chunk)", 120);
    Bun.gc(true);
    const growth = process.memoryUsage().rss - before;
    expect(result.success).toBe(true);
    expect(result.truncated).toBe(true);
    expect(result.output.length).toBeLessThan(1_100_000);
    expect(result.output).toMatch(/\[output truncated: \d+ bytes dropped\]\n$/);
    expect(Number(/(\d+) bytes dropped/.exec(result.output)![1])).toBeGreaterThan(198_000_000);
    // Bay saw 200 MB go by inside the sandbox but held only the capped answer.
    expect(growth).toBeLessThan(150 * 1024 * 1024);
  });

  test("a huge traceback is capped like output", async () => {
    const result = await exec("raise ValueError('z' * 3_000_000)");
    expect(result.success).toBe(false);
    expect(result.truncated).toBe(true);
    expect(result.error.length).toBeLessThan(1_100_000);
  });
});
