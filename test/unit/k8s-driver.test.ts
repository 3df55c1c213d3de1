import { describe, expect, test } from "bun:test";
import { createBay, loadBayConfig } from "../../src/composition/bay.ts";
import { ConfigError } from "../../src/shared/errors.ts";
import { rejectionOf } from "../helpers/thrown.ts";

describe("the k8s driver", () => {
  test("is a known driver.type, but Bay refuses to start with it, saying so, before it touches any state", async () => {
    const config = loadBayConfig({ env: { BAY_DRIVER__TYPE: "k8s" }, flags: { data_dir: "/nonexistent/bay-k8s-refusal" } });
    const error = await rejectionOf(createBay(config));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).key).toBe("driver.type");
    expect((error as ConfigError).message).toContain("the k8s driver is not implemented yet");
  });
});
