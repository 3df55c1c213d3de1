import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { authorizationOf, startTestBay, THREE_OWNERS_CONFIG, useTestBay, type TestBay } from "../helpers/test-bay.ts";
import { containerExists, containersWithLabel, inspectContainer, runningContainersWithLabel } from "../helpers/docker.ts";
import { SLOT_HOLDER_BINARY, TEST_IMAGE, TEST_RUNTIME } from "../helpers/env.ts";
import { SLOT_HOLDER_PATH_IN_CONTAINER } from "../../drivers/docker/slot-holder.ts";
import { startOutsideHost, type OutsideHost } from "../helpers/outside-hosts.ts";

// Real containers and network namespaces; no test asserts speed.
setDefaultTimeout(180_000);

const PORTS = [8080, 8081, 8082];
/** A name only this test's /etc/hosts line knows; Bay resolves it, the sandbox must get the same answer. */
const OUTSIDE_NAME = "bay-outside.test";
const ALLOW_LIST = ["203.0.113.10:8080", `${OUTSIDE_NAME}:8081`, "198.51.100.0/24:8082"];

const bay = useTestBay({
  config: {
    ...THREE_OWNERS_CONFIG,
    profiles: [
      { id: "python-default", image: TEST_IMAGE },
      { id: "offline", image: TEST_IMAGE, network: "none" },
      { id: "listed", image: TEST_IMAGE, network: { allow: ALLOW_LIST } },
    ],
  },
});

/** A second Bay whose profile lists a name that does not resolve. */
const unresolvableBay = useTestBay({
  config: { profiles: [{ id: "unresolvable", image: TEST_IMAGE, network: { allow: ["no-such-host.invalid:443"] } }] },
});

/** A Bay that reaches agents at their container address instead of a published port. */
const addressBay = useTestBay({
  config: {
    driver: { docker: { connect_mode: "container_network" } },
    profiles: [
      { id: "python-default", image: TEST_IMAGE },
      { id: "listed", image: TEST_IMAGE, network: { allow: ["203.0.113.10:8080"] } },
    ],
  },
});

/**
 * Long-lived Bays (background work on), so that their driver keeps network
 * slots: namespaces made ahead that sandboxes join (drivers/docker/network-slots.ts).
 * Every policy a slot serves must fence exactly as a namespace of its own.
 */
const SLOT_PROFILES = [
  { id: "python-default", image: TEST_IMAGE },
  { id: "offline", image: TEST_IMAGE, network: "none" },
];
const slotBay = useTestBay({ background: true, config: { ...THREE_OWNERS_CONFIG, profiles: SLOT_PROFILES } });
const publishingSlotBay = useTestBay({
  background: true,
  config: { ...THREE_OWNERS_CONFIG, driver: { docker: { connect_mode: "host_port" } }, profiles: SLOT_PROFILES },
});

/** A Bay told that 203.0.113.10 is one of the host's own public addresses (as behind 1:1 NAT). */
const natBay = useTestBay({ config: { driver: { docker: { egress_deny: ["203.0.113.10"] } } } });

let publicHost: OutsideHost;
let otherPublicHost: OutsideHost;
let metadataHost: OutsideHost;
let privateHost: OutsideHost;
let hostListener: ReturnType<typeof Bun.serve>;
let hostsFileBefore: string;

beforeAll(async () => {
  publicHost = await startOutsideHost("203.0.113", 10, PORTS);
  otherPublicHost = await startOutsideHost("198.51.100", 10, PORTS);
  // The cloud metadata address and an RFC 1918 one, as hosts of our own.
  metadataHost = await startOutsideHost("169.254.169", 254, PORTS);
  privateHost = await startOutsideHost("10.213.77", 10, PORTS);
  hostListener = Bun.serve({ hostname: "0.0.0.0", port: 0, fetch: () => new Response("host listener") });
  hostsFileBefore = readFileSync("/etc/hosts", "utf8");
  appendFileSync("/etc/hosts", `\n203.0.113.10 ${OUTSIDE_NAME}\n`);
});

afterAll(async () => {
  writeFileSync("/etc/hosts", hostsFileBefore);
  hostListener?.stop(true);
  for (const host of [publicHost, otherPublicHost, metadataHost, privateHost]) await host?.close();
});

async function sandboxOf(profile: string, owner: "alice" | "bob" = "alice", on: TestBay = bay): Promise<string> {
  const created = await on.request("POST", "/v1/sandboxes", { profile }, authorizationOf(owner));
  expect(created.status).toBe(201);
  return created.body.id;
}

async function python(id: string, code: string, owner: "alice" | "bob" = "alice", on: TestBay = bay): Promise<string> {
  const result = await on.request("POST", `/v1/sandboxes/${id}/python/exec`, { code, timeout: 60 }, authorizationOf(owner));
  expect(result.status).toBe(200);
  expect(result.body.error).toBeNull();
  return result.body.output;
}

const PROBE = `
import socket
def probe(host, port):
    try:
        s = socket.create_connection((host, port), timeout=4)
        s.sendall(b"GET / HTTP/1.0\\r\\nHost: probe\\r\\n\\r\\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        return "open " + data.split(b"\\r\\n\\r\\n", 1)[-1].decode()
    except Exception as e:
        return "blocked " + type(e).__name__
def gateway():
    for line in open("/proc/net/route").read().splitlines()[1:]:
        fields = line.split()
        if fields[1] == "00000000":
            return socket.inet_ntoa(bytes.fromhex(fields[2])[::-1])
`;

/** Probes each destination from inside the sandbox; answers "open <body>" or "blocked <error>" per destination. */
async function probes(id: string, destinations: Array<[string, number]>, on: TestBay = bay): Promise<Record<string, string>> {
  const calls = destinations.map(([host, port]) => `print(${JSON.stringify(`${host}:${port}`)} + "=" + probe(${host.startsWith("gateway") ? "gateway()" : JSON.stringify(host)}, ${port}))`);
  const output = await python(id, `${PROBE}\n${calls.join("\n")}`, "alice", on);
  return Object.fromEntries(output.trim().split("\n").map((line) => line.split("=", 2) as [string, string]));
}

/**
 * The fence of an internet sandbox: Bob serves in his, Alice probes from hers.
 * Answers both sandboxes' ids.
 */
async function expectInternetFence(on: TestBay): Promise<{ alices: string; bobs: string }> {
  const bobs = await sandboxOf("python-default", "bob", on);
  await python(bobs, "import subprocess\nsubprocess.Popen(['python3', '-m', 'http.server', '8000'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\nimport time; time.sleep(1)", "bob", on);
  const bobsAddress = (await python(bobs, "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.connect(('203.0.113.10', 9))\nprint(s.getsockname()[0])", "bob", on)).trim();
  // Bob's server answers inside his own sandbox: what follows is the fence, not a dead server.
  expect(await python(bobs, `${PROBE}\nprint(probe("127.0.0.1", 8000)[:4])`, "bob", on)).toBe("open\n");

  const alices = await sandboxOf("python-default", "alice", on);
  const seen = await probes(alices, [
    ["203.0.113.10", 8080],
    ["169.254.169.254", 8080],
    ["10.213.77.10", 8080],
    [bobsAddress, 8000],
    ["gateway", hostListener.port!],
    [publicHost.hostSideAddress, hostListener.port!],
  ], on);
  expect(seen).toEqual({
    "203.0.113.10:8080": "open outside 203.0.113.10:8080",
    "169.254.169.254:8080": expect.stringMatching(/^blocked/),
    "10.213.77.10:8080": expect.stringMatching(/^blocked/),
    [`${bobsAddress}:8000`]: expect.stringMatching(/^blocked/),
    [`gateway:${hostListener.port}`]: expect.stringMatching(/^blocked/),
    [`${publicHost.hostSideAddress}:${hostListener.port}`]: expect.stringMatching(/^blocked/),
  });
  return { alices, bobs };
}

describe("network: internet (the default)", () => {
  test("reaches a public address, but not the metadata address, private ranges, the host or another owner's sandbox", async () => {
    await expectInternetFence(bay);
  });

  test("the sandbox has no IPv6 and sits on Bay's fenced bridge, not the engine's default one", async () => {
    const id = await sandboxOf("python-default");
    expect(await python(id, "print('started')")).toBe("started\n");
    const container = inspectContainer(containersWithLabel(`bay.sandbox_id=${id}`)[0]!);
    await expectNoIpv6(id, bay, container);
    expect(Object.keys(container.NetworkSettings.Networks)).toEqual(["bay-internet"]);
  });
});

describe("network: {allow: [...]}", () => {
  test("only the listed destinations: an IP and port, a name resolved by Bay and pinned in /etc/hosts, a CIDR and port", async () => {
    const id = await sandboxOf("listed");
    const seen = await probes(id, [
      ["203.0.113.10", 8080],
      [OUTSIDE_NAME, 8081],
      ["198.51.100.10", 8082],
      ["203.0.113.10", 8082],
      ["198.51.100.10", 8080],
      ["169.254.169.254", 8080],
      ["gateway", hostListener.port!],
    ]);
    expect(seen).toEqual({
      "203.0.113.10:8080": "open outside 203.0.113.10:8080",
      [`${OUTSIDE_NAME}:8081`]: "open outside 203.0.113.10:8081",
      "198.51.100.10:8082": "open outside 198.51.100.10:8082",
      "203.0.113.10:8082": expect.stringMatching(/^blocked/),
      "198.51.100.10:8080": expect.stringMatching(/^blocked/),
      "169.254.169.254:8080": expect.stringMatching(/^blocked/),
      [`gateway:${hostListener.port}`]: expect.stringMatching(/^blocked/),
    });
    // Names resolve only through the pinned /etc/hosts: the engine's DNS forwarder has an upstream nobody answers at.
    const container = inspectContainer(containersWithLabel(`bay.sandbox_id=${id}`)[0]!);
    expect(container.HostConfig.Dns).toEqual(["192.0.2.53"]);
    expect(container.HostConfig.ExtraHosts).toEqual([`${OUTSIDE_NAME}:203.0.113.10`]);
  });

  test("an unknown name in an allow list fails the start with a clear error, and nothing is left running", async () => {
    const id = (await unresolvableBay.request("POST", "/v1/sandboxes", { profile: "unresolvable" })).body.id;
    const result = await unresolvableBay.request("POST", `/v1/sandboxes/${id}/shell/exec`, { command: "true" });
    expect(result.status).toBe(502);
    expect(result.body.error.code).toBe("ship_error");
    expect(result.body.error.message).toContain("no-such-host.invalid");
    expect(containersWithLabel(`bay.sandbox_id=${id}`)).toEqual([]);
  });
});

describe("network: none", () => {
  test("only loopback inside, nothing outside reachable, and the agent still answers", async () => {
    const id = await sandboxOf("offline");
    const interfaces = await python(id, "print(sorted(line.split(':')[0].strip() for line in open('/proc/net/dev').read().splitlines()[2:]))");
    expect(interfaces).toBe("['lo']\n");
    const seen = await probes(id, [["203.0.113.10", 8080]]);
    expect(seen["203.0.113.10:8080"]).toMatch(/^blocked/);
  });
});

describe("connect modes", () => {
  test("with container_network, Bay reaches the agent at its address on a fenced network, in every policy", async () => {
    for (const profile of ["python-default", "listed"]) {
      const id = (await addressBay.request("POST", "/v1/sandboxes", { profile })).body.id;
      const result = await addressBay.request("POST", `/v1/sandboxes/${id}/shell/exec`, { command: "echo reached" });
      expect({ profile, status: result.status, output: result.body.output }).toEqual({ profile, status: 200, output: "reached\n" });
      const container = inspectContainer(containersWithLabel(`bay.sandbox_id=${id}`)[0]!);
      expect(Object.keys(container.NetworkSettings.Ports ?? {}).flatMap((port) => container.NetworkSettings.Ports[port] ?? [])).toEqual([]);
    }
  });
});

/** Starts a sandbox of `profile`, which teaches `on` the profile's network: from then on it keeps slots ready there. */
async function firstStart(on: TestBay, profile: string): Promise<void> {
  await python(await sandboxOf(profile, "alice", on), "print(1)", "alice", on);
}

/** Until `on` keeps `count` holders running on `network`. */
async function untilSlotsReady(on: TestBay, network: string, count: number): Promise<string[]> {
  const label = (holders: string[]) => holders.filter((name) => inspectContainer(name).Config.Labels["bay.instance_id"] === on.instanceId);
  for (let waited = 0; waited < 120_000; waited += 250) {
    const holders = label(runningContainersWithLabel(`bay.network_slot=${network}`, { holders: true }));
    if (holders.length >= count) return holders;
    await Bun.sleep(250);
  }
  throw new Error(`no ${count} network slots on ${network} within 120 s`);
}

/** The holder whose namespace a sandbox's container joined; fails if it has one of its own. */
/**
 * IPv6 is off in the sandbox's network namespace (`container`: the one that
 * made it, the sandbox's own or its holder). runc's kernel shows the switch
 * to user code; gVisor's /proc has no such file, and its sockets live in
 * that same namespace (runsc --network=host), set up as the engine was told.
 */
async function expectNoIpv6(id: string, on: TestBay, container: any): Promise<void> {
  expect(container.HostConfig.Sysctls).toMatchObject({ "net.ipv6.conf.all.disable_ipv6": "1" });
  if (TEST_RUNTIME === "runc") {
    expect(await python(id, "print(open('/proc/sys/net/ipv6/conf/all/disable_ipv6').read().strip())", "alice", on)).toBe("1\n");
  }
}

function holderOf(on: TestBay, id: string): any {
  const container = inspectContainer(containersWithLabel(`bay.sandbox_id=${id}`)[0]!);
  expect(container.HostConfig.NetworkMode).toMatch(/^container:[0-9a-f]{64}$/);
  const holder = inspectContainer(container.HostConfig.NetworkMode.slice("container:".length));
  expect(holder.State.Running).toBe(true);
  expect(holder.Config.Labels["bay.instance_id"]).toBe(on.instanceId);
  expect(holder.HostConfig.AutoRemove).toBe(true);
  return holder;
}

async function untilGone(container: string): Promise<void> {
  for (let waited = 0; waited < 60_000 && containerExists(container); waited += 250) await Bun.sleep(250);
  expect(containerExists(container)).toBe(false);
}

describe("network slots: sandboxes that join a namespace made ahead", () => {
  test("internet: each sandbox joins its own holder on Bay's fenced network, and the fence is the same", async () => {
    await firstStart(slotBay, "python-default");
    await untilSlotsReady(slotBay, "bay-internet", 2);
    const { alices, bobs } = await expectInternetFence(slotBay);
    const [alicesHolder, bobsHolder] = [holderOf(slotBay, alices), holderOf(slotBay, bobs)];
    expect(alicesHolder.Id).not.toBe(bobsHolder.Id);
    expect(Object.keys(alicesHolder.NetworkSettings.Networks)).toEqual(["bay-internet"]);
    await expectNoIpv6(alices, slotBay, alicesHolder);
    // The holder shares only its network namespace: its process is not among the sandbox's.
    const commands = await python(alices, "import os\nfor p in os.listdir('/proc'):\n    if p.isdigit():\n        try: print(' '.join(open(f'/proc/{p}/cmdline').read().split('\\0')[:2]))\n        except OSError: pass", "alice", slotBay);
    expect(commands.split("\n")).toContain("/opt/bay/bay ship");
    expect(commands.split("\n").filter((command) => command.startsWith(SLOT_HOLDER_PATH_IN_CONTAINER) || command.startsWith("/opt/bay/bay hold"))).toEqual([]);
  });

  test("none: the sandbox joins a holder without network, and sees only loopback", async () => {
    await firstStart(slotBay, "offline");
    await untilSlotsReady(slotBay, "none", 2);
    const id = await sandboxOf("offline", "alice", slotBay);
    const interfaces = await python(id, "print(sorted(line.split(':')[0].strip() for line in open('/proc/net/dev').read().splitlines()[2:]))", "alice", slotBay);
    expect(interfaces).toBe("['lo']\n");
    expect((await probes(id, [["203.0.113.10", 8080]], slotBay))["203.0.113.10:8080"]).toMatch(/^blocked/);
    expect(holderOf(slotBay, id).HostConfig.NetworkMode).toBe("none");
  });

  test("host_port: the holder publishes the agent's port on the loopback address, and Bay reaches the agent there", async () => {
    await firstStart(publishingSlotBay, "python-default");
    await untilSlotsReady(publishingSlotBay, "bay-internet", 1);
    const id = await sandboxOf("python-default", "alice", publishingSlotBay);
    expect(await python(id, "print('reached')", "alice", publishingSlotBay)).toBe("reached\n");
    const bindings = Object.values(holderOf(publishingSlotBay, id).NetworkSettings.Ports ?? {}).flat() as Array<{ HostIp: string }>;
    expect(bindings.map((binding) => binding.HostIp)).toEqual(["127.0.0.1"]);
  });

  test("a holder goes with its sandbox: at delete, and when the container is removed behind Bay's back", async () => {
    await firstStart(slotBay, "python-default");
    await untilSlotsReady(slotBay, "bay-internet", 2);
    const deleted = await sandboxOf("python-default", "alice", slotBay);
    await python(deleted, "print(1)", "alice", slotBay);
    const deletedHolder = holderOf(slotBay, deleted).Id;
    expect((await slotBay.request("DELETE", `/v1/sandboxes/${deleted}`, undefined, authorizationOf("alice"))).status).toBe(204);
    expect(containerExists(deletedHolder)).toBe(false);

    await untilSlotsReady(slotBay, "bay-internet", 2);
    const lost = await sandboxOf("python-default", "alice", slotBay);
    await python(lost, "print(1)", "alice", slotBay);
    const lostHolder = holderOf(slotBay, lost).Id;
    Bun.spawnSync(["docker", "rm", "-f", containersWithLabel(`bay.sandbox_id=${lost}`)[0]!]);
    await untilGone(lostHolder);
  });

  test("a ready holder that ended behind Bay's back (an engine restart, a hand) does not fail the start that claims it", async () => {
    await firstStart(slotBay, "python-default");
    const ready = await untilSlotsReady(slotBay, "bay-internet", 2);
    Bun.spawnSync(["docker", "rm", "-f", ...ready]);
    const id = await sandboxOf("python-default", "alice", slotBay);
    expect(await python(id, "print('started')", "alice", slotBay)).toBe("started\n");
    // It started on a namespace of its own instead.
    expect(inspectContainer(containersWithLabel(`bay.sandbox_id=${id}`)[0]!).HostConfig.NetworkMode).toBe("bay-internet");
  });

  test("closing Bay removes the holders no sandbox joined", async () => {
    const closing = await startTestBay({ background: true, config: { ...THREE_OWNERS_CONFIG, profiles: SLOT_PROFILES } });
    try {
      await firstStart(closing, "python-default");
      const holders = await untilSlotsReady(closing, "bay-internet", 2);
      await closing.core.close();
      for (const holder of holders) expect(containerExists(holder)).toBe(false);
    } finally {
      await closing.close().catch(() => undefined);
    }
  });

  test("holders run the native holder the binary carries", async () => {
    await firstStart(slotBay, "python-default");
    const id = await sandboxOf("python-default", "alice", slotBay);
    await python(id, "print(1)", "alice", slotBay);
    expect(holderOf(slotBay, id).Path).toBe(SLOT_HOLDER_PATH_IN_CONTAINER);
  });

  // Both programs a holder may run: the native one, and `bay hold` of a binary built without a C compiler.
  const holderPrograms = {
    native: () => ["-v", `${SLOT_HOLDER_BINARY}:${SLOT_HOLDER_PATH_IN_CONTAINER}:ro`, "--entrypoint", SLOT_HOLDER_PATH_IN_CONTAINER, TEST_IMAGE],
    "bay hold": () => ["-v", `${slotBay.config.ship.binary_path}:/opt/bay/bay:ro`, "--entrypoint", "/opt/bay/bay", TEST_IMAGE, "hold"],
  };

  test("what a crashed Bay leaves ends by itself: an unclaimed holder after its ready lifetime, a joined one once its sandbox is gone", async () => {
    const labels = ["--label", "bay.managed=true", "--label", `bay.instance_id=${slotBay.instanceId}`];
    await Promise.all(
      Object.values(holderPrograms).map(async (program) => {
        const holder = (readySeconds: number) => {
          const run = Bun.spawnSync(
            ["docker", "run", "-d", "--rm", ...labels, "--user", "65534:65534", "--read-only", ...program(), "--ready-seconds", String(readySeconds), "--agent-port", "8123"],
            { stderr: "pipe" },
          );
          expect(run.exitCode).toBe(0);
          return run.stdout.toString().trim();
        };
        const unclaimed = holder(2);
        const joined = holder(600);
        // A stand-in for a sandbox's agent: something listening on the agent's port in the holder's namespace.
        const sandbox = Bun.spawnSync(["docker", "run", "-d", ...labels, "--network", `container:${joined}`, "--entrypoint", "python3", TEST_IMAGE, "-m", "http.server", "8123"]);
        expect(sandbox.exitCode).toBe(0);
        await untilGone(unclaimed);
        // The joined one holds on past the unclaimed one's lifetime while its sandbox lives…
        await Bun.sleep(3000);
        expect(containerExists(joined)).toBe(true);
        // …and ends once it is gone.
        Bun.spawnSync(["docker", "rm", "-f", sandbox.stdout.toString().trim()]);
        await untilGone(joined);
      }),
    );
  });
});

describe("profiles", () => {
  test("GET /v1/profiles shows each network policy, the old name bridge as internet", async () => {
    const listed = await bay.request("GET", "/v1/profiles");
    const networks = Object.fromEntries(listed.body.items.map((p: { id: string; network: unknown }) => [p.id, p.network]));
    expect(networks).toEqual({ "python-default": "internet", offline: "none", listed: { allow: ALLOW_LIST } });
  });
});

// Last in the file: the chains of a bridge are shared by every Bay on the engine, and this Bay's differ.
describe("driver.docker.egress_deny", () => {
  test("addresses the operator lists (the host's public ones) are refused to internet sandboxes too", async () => {
    const id = (await natBay.request("POST", "/v1/sandboxes", {})).body.id;
    const result = await natBay.request("POST", `/v1/sandboxes/${id}/python/exec`, {
      code: `${PROBE}\nprint(probe("203.0.113.10", 8080)[:7])\nprint(probe("198.51.100.10", 8080)[:4])`,
      timeout: 60,
    });
    expect(result.body.output).toBe("blocked\nopen\n");
  });
});

