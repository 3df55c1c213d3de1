import type { DriverPlugin } from "../../src/core/driver.ts";
import { DockerDriver } from "./docker-driver.ts";

const docker: DriverPlugin = {
  name: "docker",
  create: ({ config }) => new DockerDriver(config.driver.docker),
};

export default docker;
