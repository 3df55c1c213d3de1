import { describe, expect, test } from "bun:test";
import { checkHandshake } from "../../src/core/handshake.ts";
import { BayError } from "../../src/shared/errors.ts";
import { thrownBy } from "../helpers/thrown.ts";

const goodMeta = {
  runtime: { name: "bay-ship", version: "0.1.0", api_version: "1" },
  workspace: { mount_path: "/workspace" },
  capabilities: { python: { version: "3.11.2" } },
};

const failure = (meta: unknown, required: string[]) => thrownBy(BayError, () => checkHandshake(meta, required));

describe("the /meta handshake", () => {
  test("a runtime that matches passes", () => {
    expect(checkHandshake(goodMeta, ["python"]).runtime.name).toBe("bay-ship");
    expect(checkHandshake({ ...goodMeta, runtime: { ...goodMeta.runtime, api_version: "1.3" } }, []).workspace.mount_path).toBe("/workspace");
  });

  test("a missing capability is a ship_error listing what is missing", () => {
    const error = failure(goodMeta, ["python", "shell"]);
    expect(error.code).toBe("ship_error");
    expect(error.status).toBe(502);
    expect(error.details.missing_capabilities).toEqual(["shell"]);
  });

  test("a wrong mount path or an incompatible api_version is refused", () => {
    expect(failure({ ...goodMeta, workspace: { mount_path: "/home/user" } }, []).details.mount_path).toBe("/home/user");
    expect(failure({ ...goodMeta, runtime: { ...goodMeta.runtime, api_version: "2" } }, []).details.api_version).toBe("2");
  });

  test("garbage is refused with every mismatch named", () => {
    const error = failure(null, ["python"]);
    expect((error.details.mismatches as string[]).length).toBe(3);
  });
});
