import { afterAll, describe, expect, test } from "bun:test";
import { PythonKernel, type KernelEvent } from "../../plugins/python/kernel.ts";

// The plain (non-IPython) executor on the host's python3; the container tests cover both executors.
const kernel = new PythonKernel({
  cwd: import.meta.dir,
  env: { PATH: process.env.PATH ?? "/usr/bin:/bin", BAY_KERNEL_PLAIN: "1" },
  interruptGraceMs: 1000,
});

afterAll(() => kernel.close());

async function run(code: string, timeoutMs = 10_000) {
  const events: KernelEvent[] = [];
  const outcome = await kernel.execute(code, timeoutMs, (event) => events.push(event));
  const text = events.map((e) => (e.type === "stream" ? e.text : e.type === "result" ? `${e.data["text/plain"]}\n` : "")).join("");
  return { outcome, text, events };
}

describe("python kernel (plain executor)", () => {
  test("starts and reports its executor", async () => {
    expect((await kernel.start()).executor).toBe("python");
  });

  test("keeps state and shows the trailing expression's repr", async () => {
    await run("counter = 40");
    const { outcome, text } = await run("counter += 2\nprint('side effect')\ncounter");
    expect(outcome).toMatchObject({ success: true, error: null, timedOut: false, stateLost: false });
    expect(text).toBe("side effect\n42\n");
  });

  test("a trailing None or a statement shows nothing", async () => {
    expect((await run("None")).text).toBe("");
    expect((await run("z = 1")).text).toBe("");
  });

  test("an exception is a traceback of the user's code only", async () => {
    const { outcome } = await run("def boom():\n    raise KeyError('k')\nboom()");
    expect(outcome.success).toBe(false);
    expect(outcome.error).toContain('File "<cell-');
    expect(outcome.error).toContain("raise KeyError('k')");
    expect(outcome.error).toContain("KeyError: 'k'");
    expect(outcome.error).not.toContain("kernel_driver");
  });

  test("a syntax error is reported without running anything", async () => {
    const { outcome } = await run("def f(:\n  pass");
    expect(outcome.success).toBe(false);
    expect(outcome.error).toContain("SyntaxError");
  });

  test("output of subprocesses does not corrupt the protocol", async () => {
    const { outcome } = await run("import os\nos.system('echo from-a-subprocess')\n'after'");
    expect(outcome.success).toBe(true);
    expect((await run("counter")).text).toBe("42\n");
  });

  test("a timeout interrupts the code; the state survives", async () => {
    const { outcome } = await run("while True:\n    pass", 500);
    expect(outcome).toMatchObject({ success: false, timedOut: true, stateLost: false });
    expect(outcome.error).toContain("timed out");
    expect((await run("counter")).text).toBe("42\n");
  });

  test("code that ignores the interrupt is killed; the kernel restarts with its state lost", async () => {
    const { outcome } = await run("import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    time.sleep(0.05)", 500);
    expect(outcome).toMatchObject({ success: false, timedOut: true, stateLost: true });
    const after = await run("counter");
    expect(after.outcome.success).toBe(false);
    expect(after.outcome.error).toContain("NameError");
  });

  test("a kernel that exits is reported as lost, and the next call gets a fresh one", async () => {
    await run("value = 1");
    const { outcome } = await run("import os\nos._exit(3)");
    expect(outcome).toMatchObject({ success: false, stateLost: true });
    expect(outcome.error).toContain("code 3");
    expect((await run("1 + 1")).text).toBe("2\n");
  });

  test("large output arrives in bounded events", async () => {
    const { events } = await run("print('x' * 300000)");
    const streams = events.filter((e) => e.type === "stream");
    expect(streams.length).toBeGreaterThan(4);
    for (const e of streams) expect((e as { text: string }).text.length).toBeLessThanOrEqual(65536);
  });
});
