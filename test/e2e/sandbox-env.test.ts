/**
 * A sandbox's own env (given at create) reaches every process on Docker: shell
 * calls, Python, background processes and login shells (.bay_env.sh), over the
 * profile's env; a create with env never takes a warm pool member, whose
 * processes started without it.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { POOL_OWNER } from "../../src/core/owners.ts";
import { TEST_IMAGE } from "../helpers/env.ts";
import { useTestBay } from "../helpers/test-bay.ts";

// Real containers; nothing here asserts speed.
setDefaultTimeout(120_000);

const bay = useTestBay({
  background: true,
  config: {
    profiles: [
      { id: "python-default", image: TEST_IMAGE, env: { FROM_PROFILE: "profile", SHARED: "profile" } },
      { id: "pooled", image: TEST_IMAGE, warm_pool_size: 1 },
    ],
  },
});

const shell = async (id: string, command: string) => (await bay.request("POST", `/v1/sandboxes/${id}/shell/exec`, { command })).body;

describe("a sandbox's env", () => {
  test("reaches shell, Python, background processes and login shells, over the profile's", async () => {
    const id = (await bay.request("POST", "/v1/sandboxes", { env: { FROM_SANDBOX: "sandbox value", SHARED: "sandbox" } })).body.id;
    expect((await shell(id, 'echo "$FROM_PROFILE|$FROM_SANDBOX|$SHARED"')).output).toBe("profile|sandbox value|sandbox\n");
    const python = await bay.request("POST", `/v1/sandboxes/${id}/python/exec`, { code: "import os; print(os.environ['FROM_SANDBOX'])" });
    expect(python.body.output).toBe("sandbox value\n");
    const started = (await bay.request("POST", `/v1/sandboxes/${id}/processes`, { command: 'echo "$FROM_SANDBOX"' })).body;
    await bay.request("POST", `/v1/sandboxes/${id}/processes/wait`, { pid: started.pid });
    const output = (await bay.request("GET", `/v1/sandboxes/${id}/processes/output?pid=${started.pid}`)).body;
    expect(output.chunks.map((chunk: { data: string }) => chunk.data).join("")).toBe("sandbox value\n");
    expect((await shell(id, "env -i sh -c '. /workspace/.bay_env.sh; echo \"$FROM_SANDBOX|$SHARED\"'")).output).toBe("sandbox value|sandbox\n");
  });

  test("a create with env starts cold instead of taking a warm member; one without env takes it", async () => {
    // The pool fills in the background; a create without env then claims the ready member.
    let plain: { id: string; status: string } | undefined;
    for (let i = 0; i < 100; i++) {
      const created = (await bay.request("POST", "/v1/sandboxes", { profile: "pooled" })).body;
      if (created.status === "ready") {
        plain = created;
        break;
      }
      await bay.request("DELETE", `/v1/sandboxes/${created.id}`);
      await Bun.sleep(300);
    }
    expect(plain?.status).toBe("ready");
    for (let i = 0; i < 100; i++) {
      const refilled = await bay.core.sandboxes.list(POOL_OWNER, { limit: 10 });
      if (refilled.items.some((item) => item.status === "ready")) break;
      await Bun.sleep(300);
    }
    const withEnv = (await bay.request("POST", "/v1/sandboxes", { profile: "pooled", env: { ONLY_MINE: "yes" } })).body;
    expect(withEnv.status).toBe("idle");
    expect((await shell(withEnv.id, 'echo "$ONLY_MINE"')).output).toBe("yes\n");
  });
});
