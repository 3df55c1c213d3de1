/**
 * Python contexts (several independent kernels per sandbox) and rich results
 * as full MIME bundles, on real containers: with the plain interpreter of the
 * test image, and with IPython and matplotlib in the data-science image.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { DATASCIENCE_TEST_IMAGE, TEST_IMAGE } from "../helpers/env.ts";
import { expectErrorShape, useSandbox, useTestBay } from "../helpers/test-bay.ts";

// Real containers and kernels; nothing here asserts speed.
setDefaultTimeout(120_000);

const bay = useTestBay({
  config: { profiles: [{ id: "python-default", image: TEST_IMAGE }, { id: "datascience", image: DATASCIENCE_TEST_IMAGE }] },
});
const sandbox = useSandbox(bay);

const contexts = (suffix = "") => `/v1/sandboxes/${sandbox.id}/python/contexts${suffix}`;
const run = async (code: string, contextId?: string, id = sandbox.id) =>
  (await bay.request("POST", `/v1/sandboxes/${id}/python/exec`, { code, ...(contextId ? { context_id: contextId } : {}) })).body;
const create = async (body: Record<string, unknown> = {}) => {
  const made = await bay.request("POST", contexts(), body);
  expect(made.status).toBe(200);
  return made.body as { id: string; cwd: string; created_at: string };
};

describe("contexts", () => {
  test("each context is its own kernel: variables do not cross, and each has its working directory", async () => {
    await run("shared = 'default'");
    const a = await create({ cwd: "ctx-a" });
    const b = await create();
    expect(a.id).toMatch(/^ctx-[0-9a-f]{12}$/);
    expect(a.cwd).toBe("ctx-a");
    await run("shared = 'a'", a.id);
    expect((await run("print(shared)", a.id)).output).toBe("a\n");
    expect((await run("print('shared' in globals())", b.id)).output).toBe("False\n");
    expect((await run("print(shared)")).output).toBe("default\n");
    expect((await run("import os; print(os.getcwd())", a.id)).output).toBe("/workspace/ctx-a\n");
    expect((await run("import os; print(os.getcwd())", b.id)).output).toBe("/workspace\n");
    // Different processes, not namespaces of one.
    const pids = await Promise.all([a.id, b.id, undefined].map(async (id) => (await run("import os; print(os.getpid())", id)).output));
    expect(new Set(pids).size).toBe(3);
  });

  test("listed with the default one; restart empties a context; delete removes it; the default one can only be restarted", async () => {
    const c = await create();
    await run("kept = 1", c.id);
    const listed = (await bay.request("GET", contexts())).body.items.map((item: { id: string }) => item.id);
    expect(listed).toContain("default");
    expect(listed).toContain(c.id);
    const restarted = await bay.request("POST", contexts("/restart"), { id: c.id });
    expect(restarted.body).toMatchObject({ id: c.id });
    expect((await run("print('kept' in globals())", c.id)).output).toBe("False\n");
    expect((await bay.request("DELETE", contexts(`?id=${c.id}`))).body).toEqual({ status: "ok" });
    expectErrorShape(await bay.request("POST", `/v1/sandboxes/${sandbox.id}/python/exec`, { code: "1", context_id: c.id }), 404, "not_found");
    expectErrorShape(await bay.request("DELETE", contexts("?id=default")), 409, "conflict");
    expectErrorShape(await bay.request("POST", contexts("/restart"), { id: "ctx-000000000000" }), 404, "not_found");
    expectErrorShape(await bay.request("POST", `/v1/sandboxes/${sandbox.id}/python/exec`, { code: "1", context_id: "nonsense" }), 422, "validation_error");
    expectErrorShape(await bay.request("POST", contexts(), { cwd: "../outside" }), 400, "invalid_path");
  });

  test("at most 16 contexts; past that 429 quota_exceeded", async () => {
    const existing = (await bay.request("GET", contexts())).body.items.length as number;
    for (let i = existing; i < 16; i++) await create();
    expectErrorShape(await bay.request("POST", contexts(), {}), 429, "quota_exceeded");
    for (const item of (await bay.request("GET", contexts())).body.items as { id: string }[]) {
      if (item.id !== "default") await bay.request("DELETE", contexts(`?id=${item.id}`));
    }
    expect((await bay.request("GET", contexts())).body.items.map((item: { id: string }) => item.id)).toEqual(["default"]);
  });

  test("contexts end with the session: after a stop none is listed, and using one is 404 without starting the sandbox", async () => {
    const d = await create();
    expect((await bay.request("POST", `/v1/sandboxes/${sandbox.id}/stop`)).status).toBe(200);
    expect((await bay.request("GET", contexts())).body).toEqual({ items: [] });
    expectErrorShape(await bay.request("POST", `/v1/sandboxes/${sandbox.id}/python/exec`, { code: "1", context_id: d.id }), 404, "not_found");
    expect((await bay.request("GET", `/v1/sandboxes/${sandbox.id}`)).body.status).toBe("idle");
  });
});

describe("rich results as MIME bundles", () => {
  test("without IPython: every _repr_*_ of the cell's value is in the bundle, images as base64 and JSON as text", async () => {
    const result = await run(
      [
        "class Rich:",
        "    def __repr__(self): return 'Rich()'",
        "    def _repr_html_(self): return '<b>rich</b>'",
        "    def _repr_markdown_(self): return '**rich**'",
        "    def _repr_svg_(self): return '<svg></svg>'",
        "    def _repr_png_(self): return b'\\x89PNG'",
        "    def _repr_jpeg_(self): return b'\\xff\\xd8'",
        "    def _repr_json_(self): return {'a': [1, 2]}",
        "    def _repr_latex_(self): return '$x^2$'",
        "Rich()",
      ].join("\n"),
    );
    expect(result.success).toBe(true);
    expect(JSON.parse(result.data.results[0].data["application/json"])).toEqual({ a: [1, 2] });
    result.data.results[0].data["application/json"] = "(checked above)";
    expect(result.data.results).toEqual([
      {
        kind: "result",
        data: {
          "text/plain": "Rich()",
          "text/html": "<b>rich</b>",
          "text/markdown": "**rich**",
          "image/svg+xml": "<svg></svg>",
          "image/png": Buffer.from([0x89, 0x50, 0x4e, 0x47]).toString("base64"),
          "image/jpeg": Buffer.from([0xff, 0xd8]).toString("base64"),
          "application/json": "(checked above)",
          "text/latex": "$x^2$",
        },
      },
    ]);
    // A failing _repr_*_ leaves the rest of the bundle.
    const partial = await run("class Half:\n    def __repr__(self): return 'Half'\n    def _repr_html_(self): raise ValueError()\nHalf()");
    expect(partial.data.results).toEqual([{ kind: "result", data: { "text/plain": "Half" } }]);
  });

  test("with IPython: display() bundles and matplotlib figures arrive in order beside the cell's value", async () => {
    const id = (await bay.request("POST", "/v1/sandboxes", { profile: "datascience" })).body.id as string;
    try {
      const result = await run(
        [
          "from IPython.display import display, HTML, Markdown",
          "import matplotlib.pyplot as plt",
          "display(HTML('<i>first</i>'))",
          "display(Markdown('*second*'))",
          "plt.plot([1, 2, 3])",
          "{'answer': 42}",
        ].join("\n"),
        undefined,
        id,
      );
      expect(result.success).toBe(true);
      const results = result.data.results as { kind: string; data: Record<string, string> }[];
      expect(results[0]).toMatchObject({ kind: "display", data: { "text/html": "<i>first</i>" } });
      expect(results[1]).toMatchObject({ kind: "display", data: { "text/markdown": "*second*" } });
      expect(results[2]).toMatchObject({ kind: "result", data: { "text/plain": "{'answer': 42}" } });
      const figure = results.find((entry) => entry.data["image/png"]);
      expect(figure?.kind).toBe("display");
      expect(Buffer.from(figure!.data["image/png"]!, "base64").subarray(1, 4).toString()).toBe("PNG");
      // neo's clients still find the figure where they look.
      expect(result.data.output.images.length).toBe(1);
    } finally {
      await bay.request("DELETE", `/v1/sandboxes/${id}`);
    }
  });
});
