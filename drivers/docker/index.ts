import type { DriverPlugin } from "../../src/kit/driver.ts";
import { DockerSettingsSchema, type DockerSettings } from "./settings.ts";

/** Docker Engine API through dockerode; loaded only when a Bay starts with it. */
const docker: DriverPlugin<DockerSettings> = {
  name: "docker",
  settingsSchema: DockerSettingsSchema,
  create: async (settings, context) => {
    const driver = new (await import("./docker-driver.ts")).DockerDriver(settings, { dataDir: context.dataDir });
    await driver.prepare(context.runtimes);
    return driver;
  },
};

export default docker;
