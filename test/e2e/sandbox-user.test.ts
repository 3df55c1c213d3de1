/**
 * Issue 13, items 1 and 2: user code runs as the named user `shipyard`
 * (uid/gid 1000, home /workspace) in an image that has no such account, and
 * the profile's environment reaches every process exactly as configured
 * (BAY_* names included; only Bay's own variable is withheld) and is written
 * to /workspace/.bay_env.sh at every start, as on shipyard-neo.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { TEST_IMAGE } from "../helpers/env.ts";
import { useSandbox, useTestBay } from "../helpers/test-bay.ts";

setDefaultTimeout(120_000);

/** Quotes, a dollar, a backslash, spaces and a newline: what a naive writer of the file would get wrong. */
const TRICKY = `it's "quoted" $HOME \\ & more\nsecond line`;
const PROFILE_ENV = { BAY_FEATURE: "on", GREETING: TRICKY, EMPTY: "" };

const bay = useTestBay({ config: { profiles: [{ id: "python-default", image: TEST_IMAGE, env: PROFILE_ENV }] } });
const sandbox = useSandbox(bay);

async function shell(command: string): Promise<{ output: string; error: string; exit_code: number }> {
  const response = await bay.request("POST", `/v1/sandboxes/${sandbox.id}/shell/exec`, { command });
  expect(response.status).toBe(200);
  return response.body;
}

async function python(code: string): Promise<string> {
  const response = await bay.request("POST", `/v1/sandboxes/${sandbox.id}/python/exec`, { code });
  expect(response.body.success).toBe(true);
  return response.body.output;
}

describe("the sandbox user", () => {
  test("has a name, shipyard, with uid/gid 1000 and home /workspace, though the image has no such account", async () => {
    const image = Bun.spawnSync(["docker", "run", "--rm", "--entrypoint", "cat", TEST_IMAGE, "/etc/passwd"]).stdout.toString();
    expect(image.split("\n").some((line) => line.split(":")[2] === "1000")).toBe(false);

    expect((await shell("whoami; id -un; id -gn; id -u; id -g")).output).toBe("shipyard\nshipyard\nshipyard\n1000\n1000\n");
    expect((await shell("getent passwd shipyard")).output).toBe("shipyard:x:1000:1000:shipyard:/workspace:/bin/sh\n");
    expect((await shell('echo "$HOME $USER $LOGNAME"; cd ~ && pwd')).output).toBe("/workspace shipyard shipyard\n/workspace\n");
    expect(await python("import getpass, os, pwd\nprint(getpass.getuser(), pwd.getpwuid(os.getuid()).pw_dir, os.path.expanduser('~'))")).toBe(
      "shipyard /workspace /workspace\n",
    );
  });

  test("the account files cannot be changed by user code", async () => {
    const attempt = await shell("echo 'root2:x:0:0::/:/bin/sh' >> /etc/passwd");
    expect(attempt.exit_code).not.toBe(0);
    expect((await shell("grep -c root2 /etc/passwd || true")).output).toBe("0\n");
  });

  test("~ is the cargo: a dotfile written there is still there after a stop", async () => {
    await shell("echo kept > ~/.dotfile");
    expect((await bay.request("POST", `/v1/sandboxes/${sandbox.id}/stop`)).status).toBe(200);
    expect((await shell("cat /workspace/.dotfile")).output).toBe("kept\n");
  });
});

describe("the profile's environment", () => {
  test("reaches shell and Python exactly as configured, BAY_* names included; Bay's own token does not", async () => {
    expect((await shell('printf "%s|%s|%s|" "$BAY_FEATURE" "$GREETING" "${EMPTY-unset}"; printenv BAY_SHIP_TOKEN || echo none')).output).toBe(
      `on|${TRICKY}||none\n`,
    );
    expect(await python("import os, json\nprint(json.dumps([os.environ.get(k) for k in ('BAY_FEATURE', 'GREETING', 'EMPTY', 'BAY_SHIP_TOKEN')], separators=(',', ':')))")).toBe(
      `${JSON.stringify(["on", TRICKY, "", null])}\n`,
    );
  });

  test("is written to /workspace/.bay_env.sh as shell exports, owner-only, which give the same values to a process without them", async () => {
    const listing = await shell("stat -c '%U %a' /workspace/.bay_env.sh; grep -c '^export ' /workspace/.bay_env.sh");
    expect(listing.output).toBe("shipyard 600\n3\n");
    const sourced = await shell(`env -i /bin/sh -c '. /workspace/.bay_env.sh && printf "%s|%s|%s" "$BAY_FEATURE" "$GREETING" "$EMPTY"'`);
    expect(sourced.output).toBe(`on|${TRICKY}|`);
  });

  test("the file is written again at every start, whatever user code left there", async () => {
    await shell("echo 'export GREETING=tampered' > /workspace/.bay_env.sh");
    expect((await bay.request("POST", `/v1/sandboxes/${sandbox.id}/stop`)).status).toBe(200);
    const sourced = await shell(`env -i /bin/sh -c '. /workspace/.bay_env.sh && printf "%s" "$GREETING"'`);
    expect(sourced.output).toBe(TRICKY);
  });
});
