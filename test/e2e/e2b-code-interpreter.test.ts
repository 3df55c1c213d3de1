/**
 * E2B's code interpreter SDK (@e2b/code-interpreter 2.8, unchanged) against
 * Bay's front door: runCode keeps state, streams output, reports errors by
 * name, value and traceback, returns rich results, and code contexts are
 * isolated kernels. A real `bay serve` on Docker.
 */
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { Sandbox } from "@e2b/code-interpreter";
import { DATASCIENCE_TEST_IMAGE } from "../helpers/env.ts";
import { useServeProcess } from "../helpers/serve-process.ts";

// Real containers and kernels; nothing here asserts speed.
setDefaultTimeout(120_000);

const API_KEY = "e2b-interpreter-key-0123456789";
// The data-science image, so that IPython and matplotlib are there (E2B's code interpreter has them).
const server = useServeProcess({ BAY_E2B__ENABLED: "true", BAY_API_KEY: API_KEY, BAY_DEFAULT_IMAGE: DATASCIENCE_TEST_IMAGE });

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await Sandbox.create({ apiUrl: `${server.url}/e2b`, sandboxUrl: `${server.url}/e2b/sandbox`, apiKey: API_KEY });
});

describe("runCode", () => {
  test("state persists across calls; output streams to callbacks; the last expression is the main result", async () => {
    await sandbox.runCode("x = 40");
    const stdout: string[] = [];
    const execution = await sandbox.runCode("print('printed'); x + 2", { onStdout: (message) => void stdout.push(message.line) });
    expect(execution.text).toBe("42");
    expect(execution.logs.stdout.join("")).toBe("printed\n");
    expect(stdout.join("")).toBe("printed\n");
    expect(execution.error).toBeUndefined();
    expect(execution.executionCount).toBeGreaterThan(1);
  });

  test("an exception is the execution's error, with its name, value and traceback", async () => {
    const execution = await sandbox.runCode("1 / 0");
    expect(execution.error?.name).toBe("ZeroDivisionError");
    expect(execution.error?.value).toBe("division by zero");
    expect(execution.error?.traceback).toContain("ZeroDivisionError");
  });

  test("rich results: HTML beside the text, and a matplotlib figure as a PNG", async () => {
    const html = await sandbox.runCode("from IPython.display import HTML\nHTML('<b>bold</b>')");
    expect(html.results[0]?.html).toBe("<b>bold</b>");
    expect(html.results[0]?.isMainResult).toBe(true);
    const plot = await sandbox.runCode("import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.show()");
    const png = plot.results.find((result) => result.png)?.png;
    expect(png).toBeDefined();
    expect(Buffer.from(png!, "base64").subarray(1, 4).toString()).toBe("PNG");
  });
});

describe("code contexts", () => {
  test("are isolated kernels with their own directory; listed, restarted and removed", async () => {
    const first = await sandbox.createCodeContext({ cwd: "/home/user/one" });
    const second = await sandbox.createCodeContext();
    expect(first.cwd).toBe("/workspace/one");
    await sandbox.runCode("secret = 'first'", { context: first });
    expect((await sandbox.runCode("'secret' in globals()", { context: second })).text).toBe("False");
    expect((await sandbox.runCode("secret", { context: first })).text).toBe("'first'");
    expect((await sandbox.runCode("import os; os.getcwd()", { context: first })).text).toBe("'/workspace/one'");
    expect((await sandbox.listCodeContexts()).map((context) => context.id)).toEqual(expect.arrayContaining([first.id, second.id]));
    await sandbox.restartCodeContext(first);
    expect((await sandbox.runCode("'secret' in globals()", { context: first })).text).toBe("False");
    await sandbox.removeCodeContext(second);
    expect((await sandbox.listCodeContexts()).map((context) => context.id)).not.toContain(second.id);
  });

  test("another language is refused, in a way the SDK reports", async () => {
    const execution = await sandbox.runCode("console.log(1)", { language: "javascript" });
    expect(execution.error?.name).toBe("UnsupportedLanguage");
  });
});
