/**
 * Bay in a container, started the way docs/deployment.md says: its image
 * from scripts/build-bay-image.sh, run by compose.yaml with the engine socket
 * and a named network of its own. connect_mode stays auto: it picks
 * container_network inside the container, on the host's network and on the
 * host (the engine's bridges are local there); host_port when asked.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { containerIdsWithLabels, containersWithLabel, inspectContainer, inspectNetworkOwner, removeInstanceObjects, volumesWithLabel } from "../helpers/docker.ts";
import { SLOT_HOLDER_PATH_IN_CONTAINER } from "../../drivers/docker/slot-holder.ts";
import { REPO_ROOT, TEST_IMAGE } from "../helpers/env.ts";
import { useTestBay } from "../helpers/test-bay.ts";

// Building the image's top layer and starting containers; nothing here asserts speed.
setDefaultTimeout(180_000);

const BAY_IMAGE = "bay:local";
const suffix = randomBytes(4).toString("hex");
const instanceId = `test-${suffix}`;
const project = `baytest${suffix}`;
const network = `bay-test-${suffix}`;
const dataVolume = `bay-test-${suffix}-data`;
const apiKey = `key-${randomBytes(12).toString("hex")}`;
const overrideDir = mkdtempSync(join(tmpdir(), "bay-compose-"));
const override = join(overrideDir, "compose.override.yaml");

/** compose.yaml as a user runs it, plus a test-only override: a second profile without network. */
const composeEnv: Record<string, string> = {
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  HOME: process.env.HOME ?? "/root",
  BAY_IMAGE,
  BAY_API_KEY: apiKey,
  BAY_INSTANCE_ID: instanceId,
  BAY_PUBLISH: "127.0.0.1:",
  BAY_NETWORK: network,
  BAY_DATA_VOLUME: dataVolume,
  BAY_DEFAULT_IMAGE: TEST_IMAGE,
};

function compose(...args: string[]): string {
  const result = Bun.spawnSync(["docker-compose", "-p", project, "-f", join(REPO_ROOT, "compose.yaml"), "-f", override, ...args], {
    env: composeEnv,
    stdout: "pipe",
    stderr: "pipe",
  });
  if (result.exitCode !== 0) throw new Error(`docker-compose ${args.join(" ")} failed:\n${result.stderr.toString()}`);
  return result.stdout.toString().trim();
}

function docker(...args: string[]): { code: number; out: string } {
  const result = Bun.spawnSync(["docker", ...args], { stdout: "pipe", stderr: "pipe" });
  return { code: result.exitCode, out: (result.stdout.toString() + result.stderr.toString()).trim() };
}

let baseUrl = "";
let bayContainer = "";

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { Authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

const shell = async (id: string, command: string) => (await call("POST", `/v1/sandboxes/${id}/shell/exec`, { command, timeout: 60 })).body;
const python = async (id: string, code: string) => (await call("POST", `/v1/sandboxes/${id}/python/exec`, { code, timeout: 60 })).body;
const sessionContainer = (id: string) => containersWithLabel(`bay.sandbox_id=${id}`)[0]!;
const bayLogs = () => docker("logs", bayContainer).out;

/** Removes the host firewall rules Bay added for this file's network, which is gone by then. */
function removeControlRules(bridge: string): void {
  const rules = Bun.spawnSync(["iptables", "-w", "5", "-S", "BAY-CTL"]).stdout.toString().split("\n");
  for (const rule of rules) {
    if (rule.startsWith("-A ") && rule.includes(` ${bridge} `)) Bun.spawnSync(["iptables", "-w", "5", "-D", ...rule.slice(3).trim().split(/\s+/)]);
  }
}

/** The test-only override: a second profile without network, and any further environment. */
function writeOverride(environment: Record<string, string> = {}): void {
  const variables = { BAY_PROFILES: JSON.stringify([{ id: "offline", image: TEST_IMAGE, network: "none" }]), ...environment };
  const lines = ["services:", "  bay:", "    environment:", ...Object.entries(variables).map(([name, value]) => `      ${name}: '${value}'`), ""];
  writeFileSync(override, lines.join("\n"));
}

/** `compose up -d` (recreating Bay when its settings changed), then waits for its API. */
async function startBay(): Promise<void> {
  compose("up", "-d");
  bayContainer = compose("ps", "-q", "bay");
  baseUrl = `http://${compose("port", "bay", "8114")}`;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const ready = await fetch(`${baseUrl}/health`).then((r) => r.ok).catch(() => false);
    if (ready) return;
    await Bun.sleep(200);
  }
  throw new Error(`Bay in its container did not answer /health:\n${bayLogs()}`);
}

/** The helper containers serving one Bay container. */
const helpersOf = (container: string) => containersWithLabel(`bay.host_network_helper_for=${inspectContainer(container).Id}`);

/** The helpers of a Bay container that ended, once the engine has removed them (it does so as they end). */
async function helpersLeftBy(bayId: string): Promise<string[]> {
  const deadline = Date.now() + 30_000;
  while (containersWithLabel(`bay.host_network_helper_for=${bayId}`).length > 0 && Date.now() < deadline) await Bun.sleep(200);
  return containersWithLabel(`bay.host_network_helper_for=${bayId}`);
}

beforeAll(async () => {
  const build = Bun.spawnSync(["bash", "scripts/build-bay-image.sh", BAY_IMAGE], { cwd: REPO_ROOT, env: { ...process.env, BAY_SKIP_BUILD: "1" }, stderr: "pipe", stdout: "pipe" });
  if (build.exitCode !== 0) throw new Error(`building ${BAY_IMAGE} failed:\n${build.stderr.toString()}${build.stdout.toString()}`);
  writeOverride();
  await startBay();
});

afterAll(async () => {
  const bridge = bayContainer ? `br-${(JSON.parse(docker("network", "inspect", network).out || "[{}]")[0]?.Id ?? "").slice(0, 12)}` : "";
  try {
    compose("down", "--volumes", "--timeout", "10");
  } finally {
    await removeInstanceObjects(instanceId);
    if (bridge !== "br-") removeControlRules(bridge);
    rmSync(overrideDir, { recursive: true, force: true });
  }
});

describe("Bay in a container, run by compose.yaml", () => {
  test("auto picks container_network: sandboxes publish no port, and Bay's host firewall runs through a helper on the host's network", async () => {
    const created = await call("POST", "/v1/sandboxes", {});
    expect(created.status).toBe(201);
    expect((await shell(created.body.id, "echo ready")).output).toBe("ready\n");

    expect(bayLogs()).toContain(`on network ${network}; agents are reached through their container addresses (connect_mode container_network)`);
    const sandbox = inspectNetworkOwner(sessionContainer(created.body.id));
    expect(Object.keys(sandbox.HostConfig.PortBindings ?? {})).toEqual([]);
    expect(sandbox.NetworkSettings.Ports?.["8123/tcp"] ?? null).toBeNull();

    // Its network slots run the native holder Bay carries, written out to the data volume for the engine to mount.
    let holders: string[] = [];
    for (let waited = 0; waited < 60_000 && holders.length === 0; waited += 250) {
      holders = containerIdsWithLabels([`bay.instance_id=${instanceId}`, "bay.network_slot"], { holders: true });
      if (holders.length === 0) await Bun.sleep(250);
    }
    const holder = inspectContainer(holders[0]!);
    expect(holder.Path).toBe(SLOT_HOLDER_PATH_IN_CONTAINER);
    expect(holder.Mounts.find((mount: { Destination: string }) => mount.Destination === SLOT_HOLDER_PATH_IN_CONTAINER)?.Source).toMatch(/\/agent\/slot-holder-[0-9a-f]{16}$/);

    const helpers = helpersOf(bayContainer);
    expect(helpers).toHaveLength(1);
    const helper = inspectContainer(helpers[0]!);
    expect(helper.HostConfig.NetworkMode).toBe("host");
    expect([...helper.HostConfig.CapAdd].sort()).toEqual(["NET_ADMIN", "NET_RAW"]);
    expect(helper.HostConfig.CapDrop).toEqual(["ALL"]);
    expect(helper.HostConfig.PidMode).toBe(`container:${inspectContainer(bayContainer).Id}`);
    expect((await call("DELETE", `/v1/sandboxes/${created.body.id}`)).status).toBe(204);
  });

  test("the core flow: create, python, shell, files, stop, resume, delete", async () => {
    const created = await call("POST", "/v1/sandboxes", {});
    const id = created.body.id as string;

    expect((await python(id, "counter = 41")).success).toBe(true);
    expect((await python(id, "print(counter + 1)")).output).toBe("42\n");

    const who = await shell(id, "whoami; echo $HOME; pwd");
    expect(who.exit_code).toBe(0);
    expect(who.output).toBe("shipyard\n/workspace\n/workspace\n");

    const written = await call("PUT", `/v1/sandboxes/${id}/filesystem/files`, { path: "notes/a.txt", content: "kept across stops\n" });
    expect(written.body).toEqual({ status: "ok" });
    expect((await call("GET", `/v1/sandboxes/${id}/filesystem/files?path=notes/a.txt`)).body).toEqual({ content: "kept across stops\n" });
    const first = sessionContainer(id);

    expect((await call("POST", `/v1/sandboxes/${id}/stop`)).status).toBe(200);
    expect(containersWithLabel(`bay.sandbox_id=${id}`)).toEqual([]);
    expect((await call("GET", `/v1/sandboxes/${id}`)).body.status).toBe("idle");

    // Resumed on a new container: the cargo's files are there, the kernel is new.
    expect((await shell(id, "cat notes/a.txt")).output).toBe("kept across stops\n");
    expect(sessionContainer(id)).not.toBe(first);
    const fresh = await python(id, "print('counter' in globals())");
    expect(fresh.output).toBe("False\n");

    expect((await call("DELETE", `/v1/sandboxes/${id}`)).status).toBe(204);
    expect((await call("GET", `/v1/sandboxes/${id}`)).status).toBe(404);
    expect(containersWithLabel(`bay.sandbox_id=${id}`)).toEqual([]);
    expect(volumesWithLabel(`bay.sandbox_id=${id}`)).toEqual([]);
  });

  test("a sandbox without network is reached through its socket, which lies on Bay's data volume", async () => {
    const id = (await call("POST", "/v1/sandboxes", { profile: "offline" })).body.id as string;
    expect((await shell(id, "echo offline")).output).toBe("offline\n");
    const sandbox = inspectContainer(sessionContainer(id));
    expect(inspectNetworkOwner(sessionContainer(id)).HostConfig.NetworkMode).toBe("none");
    // The socket directory is bound from the data volume's host path, where Bay's container sees it too.
    const volumePath = JSON.parse(docker("volume", "inspect", dataVolume).out)[0].Mountpoint as string;
    expect(sandbox.HostConfig.Binds.some((bind: string) => bind.startsWith(`${volumePath}/`) && bind.includes(":/run/bay"))).toBe(true);
    expect((await call("DELETE", `/v1/sandboxes/${id}`)).status).toBe(204);
  });

  test("a sandbox reaches neither Bay's container nor another sandbox's agent", async () => {
    const alice = (await call("POST", "/v1/sandboxes", {})).body.id as string;
    const bob = (await call("POST", "/v1/sandboxes", {})).body.id as string;
    expect((await shell(bob, "true")).exit_code).toBe(0);
    const bayAddress = inspectContainer(bayContainer).NetworkSettings.Networks[network].IPAddress as string;
    const bobAddress = Object.values(inspectNetworkOwner(sessionContainer(bob)).NetworkSettings.Networks as Record<string, any>)[0].IPAddress as string;
    const probe = (address: string, port: number) =>
      python(alice, `import socket\ns = socket.socket()\ns.settimeout(3)\ntry:\n    s.connect((${JSON.stringify(address)}, ${port})); print("open")\nexcept OSError as e:\n    print("refused", e.errno)`);
    expect((await probe(bayAddress, 8114)).output).toStartWith("refused");
    expect((await probe(bobAddress, 8123)).output).toStartWith("refused");
    // Bay itself still reaches both.
    expect((await shell(alice, "echo a")).output).toBe("a\n");
    expect((await shell(bob, "echo b")).output).toBe("b\n");
    for (const id of [alice, bob]) expect((await call("DELETE", `/v1/sandboxes/${id}`)).status).toBe(204);
  });

  test("connect_mode host_port on loopback, from a container of its own, stops Bay at start-up naming the key", () => {
    const run = docker(
      "run", "--rm", "--init", "--network", network, "-v", "/var/run/docker.sock:/var/run/docker.sock",
      "-e", `BAY_API_KEY=${apiKey}`, "-e", `BAY_INSTANCE_ID=${instanceId}-refused`, "-e", "BAY_DRIVER__DOCKER__CONNECT_MODE=host_port",
      BAY_IMAGE,
    );
    expect(run.code).toBe(2);
    expect(run.out).toContain('invalid configuration at "driver.docker.connect_mode"');
    expect(run.out).toContain("cannot reach");
  });

  test("connect_mode container_network set explicitly works the same; the replaced container's helper went with it", async () => {
    const previous = inspectContainer(bayContainer).Id as string;
    writeOverride({ BAY_DRIVER__DOCKER__CONNECT_MODE: "container_network" });
    await startBay();
    expect(inspectContainer(bayContainer).Id).not.toBe(previous);
    const id = (await call("POST", "/v1/sandboxes", {})).body.id as string;
    expect((await shell(id, "echo explicit")).output).toBe("explicit\n");
    expect(bayLogs()).toContain("(connect_mode container_network)");
    expect(helpersOf(bayContainer)).toHaveLength(1);
    expect(await helpersLeftBy(previous)).toEqual([]);
    expect((await call("DELETE", `/v1/sandboxes/${id}`)).status).toBe(204);
  });

  test("Bay's container going away takes its helper with it", async () => {
    const bayId = inspectContainer(bayContainer).Id as string;
    expect(containersWithLabel(`bay.host_network_helper_for=${bayId}`)).toHaveLength(1);
    compose("stop", "--timeout", "10");
    expect(await helpersLeftBy(bayId)).toEqual([]);
  });
});

describe("Bay in a container on the host's network", () => {
  const name = `bay-test-hostnet-${suffix}`;
  const hostInstance = `test-${randomBytes(4).toString("hex")}`;
  const volume = `${name}-data`;
  let url = "";

  beforeAll(async () => {
    const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = probe.port;
    probe.stop(true);
    const started = docker(
      "run", "-d", "--name", name, "--init", "--network", "host", "--cap-add", "NET_ADMIN",
      "-v", "/var/run/docker.sock:/var/run/docker.sock", "-v", `${volume}:/var/lib/bay`,
      "-e", `BAY_API_KEY=${apiKey}`, "-e", `BAY_INSTANCE_ID=${hostInstance}`, "-e", "BAY_SERVER__HOST=127.0.0.1",
      "-e", `BAY_SERVER__PORT=${port}`, "-e", `BAY_DEFAULT_IMAGE=${TEST_IMAGE}`, BAY_IMAGE,
    );
    if (started.code !== 0) throw new Error(`docker run of ${BAY_IMAGE} failed: ${started.out}`);
    url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 60_000;
    while (!(await fetch(`${url}/health`).then((r) => r.ok).catch(() => false))) {
      if (Date.now() > deadline) throw new Error(`Bay on the host's network did not answer:\n${docker("logs", name).out}`);
      await Bun.sleep(200);
    }
  });

  afterAll(async () => {
    docker("rm", "-f", name);
    await removeInstanceObjects(hostInstance);
    docker("volume", "rm", "-f", volume);
  });

  test("auto reaches agents at their addresses (the engine's bridges are in its namespace), Bay writes the firewall itself (no helper), and sandboxes work", async () => {
    const headers = { Authorization: `Bearer ${apiKey}`, "Content-Type": "application/json" };
    const created = await (await fetch(`${url}/v1/sandboxes`, { method: "POST", headers, body: "{}" })).json() as { id: string };
    const ran = await (await fetch(`${url}/v1/sandboxes/${created.id}/shell/exec`, { method: "POST", headers, body: JSON.stringify({ command: "whoami" }) })).json() as { output: string };
    expect(ran.output).toBe("shipyard\n");
    expect(docker("logs", name).out).toContain("with the host's network; agents are reached through their container addresses (connect_mode container_network)");
    expect(publishedPorts(sessionContainer(created.id))).toEqual([]);
    expect(helpersOf(name)).toEqual([]);
    expect((await fetch(`${url}/v1/sandboxes/${created.id}`, { method: "DELETE", headers })).status).toBe(204);
  });
});

describe("Bay on the host", () => {
  const bay = useTestBay();
  const publishingBay = useTestBay({ config: { driver: { docker: { connect_mode: "host_port" } } } });

  test("auto reaches the agent at its container address: no port is published (no docker-proxy per sandbox)", async () => {
    const id = (await bay.request("POST", "/v1/sandboxes", {})).body.id as string;
    expect((await bay.request("POST", `/v1/sandboxes/${id}/shell/exec`, { command: "true" })).status).toBe(200);
    expect(publishedPorts(sessionContainer(id))).toEqual([]);
  });

  test("connect_mode host_port publishes the agent's port on 127.0.0.1 only", async () => {
    const id = (await publishingBay.request("POST", "/v1/sandboxes", {})).body.id as string;
    expect((await publishingBay.request("POST", `/v1/sandboxes/${id}/shell/exec`, { command: "true" })).status).toBe(200);
    const bindings = publishedPorts(sessionContainer(id));
    expect(bindings.length).toBeGreaterThan(0);
    expect(bindings.every((binding) => binding.HostIp === "127.0.0.1" && Number(binding.HostPort) > 0)).toBe(true);
  });
});

/** Where the engine published the agent's port of a container, if anywhere. */
function publishedPorts(container: string): { HostIp: string; HostPort: string }[] {
  return (inspectNetworkOwner(container).NetworkSettings.Ports?.["8123/tcp"] ?? []) as { HostIp: string; HostPort: string }[];
}
