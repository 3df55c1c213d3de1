import { Type } from "@sinclair/typebox";
import { ConfigError, type DriverPlugin } from "../../src/kit/driver.ts";

/**
 * Reserved: `driver.type: k8s` is a known name, so that configs written for
 * it fail at start-up with this message, never by starting degraded.
 */
const k8s: DriverPlugin = {
  name: "k8s",
  settingsSchema: Type.Object({}, { additionalProperties: false, default: {} }),
  create: () =>
    Promise.reject(
      new ConfigError("driver.type", 'the k8s driver is not implemented yet; use "docker" (see docs/architecture.md, "Adding a driver")'),
    ),
};

export default k8s;
