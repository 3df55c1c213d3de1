import "./engine-ready.ts";
/**
 * Looks at the engine with the docker CLI, independently of Bay's own driver,
 * so that a bug in the driver cannot hide a leak.
 */
function docker(args: string[]): string {
  const result = Bun.spawnSync(["docker", ...args], { stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`docker ${args.join(" ")} failed: ${result.stderr.toString()}`);
  return result.stdout.toString().trim();
}

const lines = (text: string) => text.split("\n").filter(Boolean);

/**
 * A long-lived Bay keeps network slots: holder containers with its instance
 * label that belong to no sandbox (drivers/docker/network-slots.ts). The
 * listings below leave them out unless asked: what tests count is sandbox
 * containers. test/security/network-policy.test.ts checks the holders, and
 * scripts/test.sh's last check counts everything a test instance left.
 */
export interface ListOptions {
  holders?: boolean;
}

function listContainers(args: string[], { holders = false }: ListOptions, format = "{{.Names}}"): string[] {
  return lines(docker(["ps", ...args, "--format", `${format}\t{{.Label "bay.network_slot"}}`]))
    .map((line) => line.split("\t"))
    .filter(([, slot]) => holders || !slot)
    .map(([name]) => name!);
}

export function containersWithLabel(label: string, options: ListOptions = {}): string[] {
  return listContainers(["-a", "--filter", `label=${label}`], options);
}

export function runningContainersWithLabel(label: string, options: ListOptions = {}): string[] {
  return listContainers(["--filter", `label=${label}`], options);
}

/** Full ids of the containers with every one of these labels, sorted. */
export function containerIdsWithLabels(labels: string[], { all = false, ...options }: ListOptions & { all?: boolean } = {}): string[] {
  const filters = labels.flatMap((label) => ["--filter", `label=${label}`]);
  return listContainers([...(all ? ["-a"] : []), "--no-trunc", ...filters], options, "{{.ID}}").sort();
}

export function volumesWithLabel(label: string): string[] {
  return lines(docker(["volume", "ls", "-q", "--filter", `label=${label}`]));
}

export function volumeExists(name: string): boolean {
  return Bun.spawnSync(["docker", "volume", "inspect", name], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
}

/** False once the container has stopped or is gone (Bay may remove a dead one at any moment). */
export function containerRunning(name: string): boolean {
  const result = Bun.spawnSync(["docker", "container", "inspect", "--format", "{{.State.Running}}", name], { stderr: "ignore" });
  return result.exitCode === 0 && result.stdout.toString().trim() === "true";
}

export function containerExists(name: string): boolean {
  return Bun.spawnSync(["docker", "container", "inspect", name], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
}

export function inspectContainer(name: string): any {
  return JSON.parse(docker(["container", "inspect", name]))[0];
}

/**
 * The inspection of the container whose network namespace `name` uses: its
 * own, or that of the network slot's holder it joined (drivers/docker/network-slots.ts),
 * which holds its addresses, published ports and network mode.
 */
export function inspectNetworkOwner(name: string): any {
  const container = inspectContainer(name);
  const mode = container.HostConfig.NetworkMode as string;
  return mode.startsWith("container:") ? inspectContainer(mode.slice("container:".length)) : container;
}

export function inspectVolume(name: string): any {
  return JSON.parse(docker(["volume", "inspect", name]))[0];
}

export function imageExists(name: string): boolean {
  return Bun.spawnSync(["docker", "image", "inspect", name], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
}

/** Removes everything of one test instance, whatever state a failed test left. */
export async function removeInstanceObjects(instanceId: string): Promise<void> {
  const label = `bay.instance_id=${instanceId}`;
  // A removal Bay started may still be in progress; wait for it rather than fail.
  for (let attempt = 0; attempt < 50; attempt++) {
    const containers = lines(docker(["ps", "-aq", "--filter", `label=${label}`]));
    if (containers.length) Bun.spawnSync(["docker", "rm", "-f", ...containers], { stderr: "ignore", stdout: "ignore" });
    const volumes = volumesWithLabel(label);
    if (volumes.length) Bun.spawnSync(["docker", "volume", "rm", "-f", ...volumes], { stderr: "ignore", stdout: "ignore" });
    if (containers.length === 0 && volumes.length === 0) return;
    await Bun.sleep(100);
  }
  throw new Error(`could not remove the objects of test instance ${instanceId}`);
}

/** An image without python3, derived from the test image (no registry, no rebuild). */
export function ensureImageWithoutPython(base: string, name: string): string {
  if (imageExists(name)) return name;
  const builder = `bay-test-build-${process.pid}`;
  docker(["run", "--name", builder, "--entrypoint", "/bin/sh", base, "-c", "rm -f /usr/bin/python3*"]);
  try {
    docker(["commit", builder, name]);
  } finally {
    docker(["rm", "-f", builder]);
  }
  return name;
}
