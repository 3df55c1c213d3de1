import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { useSandbox, useTestBay } from "../helpers/test-bay.ts";
import { FULL_TEST_IMAGE } from "../helpers/env.ts";

// Real containers start here, and installs and compiles take a while; no test asserts speed.
setDefaultTimeout(180_000);

// No network at all: whatever the tools do, nothing may leave the sandbox (pip must not reach PyPI).
const bay = useTestBay({ config: { profiles: [{ id: "full", image: FULL_TEST_IMAGE, network: "none" }] } });
const sandbox = useSandbox(bay, { profile: "full" });

/**
 * Writes dist/tinypkg-1.0-py3-none-any.whl by the wheel format itself (a zip
 * of the package, its metadata and a RECORD of digests): building one with
 * pip would need the "wheel" package from PyPI, out of reach without network.
 */
const TINY_WHEEL_WRITER = String.raw`
import base64, hashlib, zipfile
files = {
    "tinypkg/__init__.py": b"VALUE = 42\n",
    "tinypkg-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: tinypkg\nVersion: 1.0\n",
    "tinypkg-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: bay-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
def record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"
record = "\n".join([record_line(name, data) for name, data in files.items()] + ["tinypkg-1.0.dist-info/RECORD,,"]) + "\n"
with zipfile.ZipFile("dist/tinypkg-1.0-py3-none-any.whl", "w") as wheel:
    for name, data in files.items():
        wheel.writestr(name, data)
    wheel.writestr("tinypkg-1.0.dist-info/RECORD", record)
`;

/** Runs a script as the sandbox user and expects it to succeed, returning its stdout. */
async function run(script: string): Promise<string> {
  const result = (await bay.request("POST", `/v1/sandboxes/${sandbox.id}/shell/exec`, { command: `set -e\n${script}`, timeout: 150 })).body;
  // On failure the diff shows the whole answer, stderr included.
  expect(result).toMatchObject({ exit_code: 0 });
  return result.output;
}

describe("the full image, used by the sandbox user", () => {
  test("commands run as uid 1000, not root", async () => {
    expect(await run("id -u")).toBe("1000\n");
  });

  test("a venv gets a wheel made in the sandbox, installed from the file alone (--no-index)", async () => {
    const output = await run(`
      mkdir dist
      python3 - <<'PYTHON'\n${TINY_WHEEL_WRITER}\nPYTHON
      python3 -m venv venv
      venv/bin/pip install --quiet --no-index dist/tinypkg-1.0-py3-none-any.whl
      venv/bin/python -c 'import sys, tinypkg; print(tinypkg.VALUE, sys.prefix)'
      python3 -c 'import tinypkg' 2>/dev/null || echo 'not in the system Python'
    `);
    expect(output).toBe("42 /workspace/venv\nnot in the system Python\n");
  });

  test("git init and a commit", async () => {
    const output = await run(`
      mkdir repo && cd repo && git init --quiet
      echo hello > README
      git add README
      git -c user.name='Sandbox User' -c user.email=user@sandbox.invalid commit --quiet -m 'first commit'
      git log --format='%an <%ae> %s'
      git ls-files
    `);
    expect(output).toBe("Sandbox User <user@sandbox.invalid> first commit\nREADME\n");
  });

  test("Node.js runs code; npm and pnpm answer", async () => {
    const [sum, npmVersion, pnpmVersion] = (await run("node -e 'console.log(1+1)'; npm --version; pnpm --version")).split("\n");
    expect(sum).toBe("2");
    expect(npmVersion).toMatch(/^\d+\.\d+\.\d+$/);
    expect(pnpmVersion).toMatch(/^\d+\.\d+\.\d+$/);
  });

  test("curl, with the CA certificates it needs for https", async () => {
    const output = await run("curl --version | head -n 1; test -s /etc/ssl/certs/ca-certificates.crt && echo certificates");
    expect(output).toMatch(/^curl \d+\.\d+\.\d+ .*\ncertificates\n$/);
  });

  test("ps lists processes", async () => {
    expect(await run("sleep 30 & ps -o user=,comm= -p $!; kill $!")).toMatch(/^\S+\s+sleep\n$/);
  });

  test("the C toolchain compiles and links a program that runs", async () => {
    const output = await run(`
      printf '#include <stdio.h>\\nint main(void) { puts("compiled"); return 0; }\\n' > hello.c
      cc -o hello hello.c && ./hello
    `);
    expect(output).toBe("compiled\n");
  });
});
