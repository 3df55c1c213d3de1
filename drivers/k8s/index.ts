import type { Driver, DriverPlugin } from "../../src/core/driver.ts";
import { DriverNotImplementedError } from "../../src/core/errors.ts";

/** Placeholder so that `driver.type: k8s` is accepted and fails clearly on first use. */
class KubernetesDriver implements Driver {
  readonly name = "k8s";
  readonly endpoint = "kubernetes (not implemented)";

  private fail(operation: string): never {
    throw new DriverNotImplementedError("k8s", operation);
  }

  async ping(): Promise<void> {
    this.fail("ping");
  }
  async createVolume(): Promise<void> {
    this.fail("createVolume");
  }
  async removeVolume(): Promise<void> {
    this.fail("removeVolume");
  }
  async startSessionContainer(): Promise<never> {
    this.fail("startSessionContainer");
  }
  async removeContainer(): Promise<void> {
    this.fail("removeContainer");
  }
  async inspectContainer(): Promise<never> {
    this.fail("inspectContainer");
  }
  async readLogs(): Promise<never> {
    this.fail("readLogs");
  }
  async listContainers(): Promise<never> {
    this.fail("listContainers");
  }
  async volumeSizes(): Promise<never> {
    this.fail("volumeSizes");
  }
  async listVolumes(): Promise<never> {
    this.fail("listVolumes");
  }
  async watchContainerEnds(): Promise<never> {
    this.fail("watchContainerEnds");
  }
}

const k8s: DriverPlugin = {
  name: "k8s",
  create: () => new KubernetesDriver(),
};

export default k8s;
