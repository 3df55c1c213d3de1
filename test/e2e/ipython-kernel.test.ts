import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { useSandbox, useTestBay } from "../helpers/test-bay.ts";
import { DATASCIENCE_TEST_IMAGE } from "../helpers/env.ts";

// Real containers start here; each test gets room, and no test asserts speed.
setDefaultTimeout(60_000);

const bay = useTestBay({ env: { BAY_DEFAULT_IMAGE: DATASCIENCE_TEST_IMAGE } });
const sandbox = useSandbox(bay);

const exec = async (code: string) => (await bay.request("POST", `/v1/sandboxes/${sandbox.id}/python/exec`, { code })).body;

describe("the kernel on an image with IPython, numpy and matplotlib", () => {
  test("the agent reports IPython as its executor", async () => {
    expect((await exec("import IPython; print(IPython.get_ipython() is not None)")).output).toBe("True\n");
  });

  test("a trailing expression is shown as IPython shows it, without an Out[] prompt", async () => {
    const result = await exec("y = [1, 2]\ny * 2");
    expect(result).toMatchObject({ success: true, output: "[1, 2, 1, 2]\n", error: null });
    expect(result.data.execution_count).toBe(2);
    expect((await exec("y")).data.execution_count).toBe(3);
  });

  test("IPython syntax works: magics and the last-value variable", async () => {
    expect((await exec("40 + 2")).output).toBe("42\n");
    expect((await exec("_ + 1")).output).toBe("43\n");
    expect((await exec("%pwd")).output).toBe("'/workspace'\n");
  });

  test("an exception gives a plain-text traceback without ANSI colour codes", async () => {
    const result = await exec("def g():\n    raise ValueError('bad value')\ng()");
    expect(result.success).toBe(false);
    expect(result.error).toContain("ValueError: bad value");
    expect(result.error).toContain("g()");
    expect(result.error).not.toContain("\u001b[");
    expect(result.output).toBe("");
  });

  test("stdout and stderr are both captured", async () => {
    const result = await exec("import sys\nprint('out')\nprint('err', file=sys.stderr)");
    expect(result.output).toBe("out\nerr\n");
  });

  test("an object with _repr_png_ yields a PNG image", async () => {
    const png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
    const result = await exec(
      `import base64\nclass Dot:\n    def _repr_png_(self):\n        return base64.b64decode('${png}')\nDot()`,
    );
    expect(result.success).toBe(true);
    expect(result.data.output.images).toEqual([{ "image/png": png }]);
  });

  test("a matplotlib figure comes back as a PNG, without a warning about show()", async () => {
    const result = await exec(
      "import matplotlib.pyplot as plt\nimport numpy as np\nx = np.linspace(0, 6.3, 50)\nplt.plot(x, np.sin(x))\nplt.title('sine')\nplt.show()",
    );
    expect(result.success).toBe(true);
    expect(result.output).toBe("");
    expect(result.data.output.images.length).toBe(1);
    const png = Buffer.from(result.data.output.images[0]["image/png"], "base64");
    expect(png.subarray(1, 4).toString("latin1")).toBe("PNG");
    expect(png.length).toBeGreaterThan(5000);
    // Figures are closed once returned: the next cell shows none.
    expect((await exec("1")).data.output.images).toEqual([]);
  });

  test("two figures in one cell give two images, in order", async () => {
    const result = await exec("import matplotlib.pyplot as plt\nplt.figure(); plt.plot([1, 2])\nplt.figure(); plt.bar([1], [3])");
    expect(result.data.output.images.length).toBe(2);
  });
});
