import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { authorizationOf, THREE_OWNERS_CONFIG, useTestBay } from "../helpers/test-bay.ts";
import { containersWithLabel, inspectContainer } from "../helpers/docker.ts";
import { TEST_IMAGE } from "../helpers/env.ts";
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

async function sandboxOf(profile: string, owner: "alice" | "bob" = "alice"): Promise<string> {
  const created = await bay.request("POST", "/v1/sandboxes", { profile }, authorizationOf(owner));
  expect(created.status).toBe(201);
  return created.body.id;
}

async function python(id: string, code: string, owner: "alice" | "bob" = "alice"): Promise<string> {
  const result = await bay.request("POST", `/v1/sandboxes/${id}/python/exec`, { code, timeout: 60 }, authorizationOf(owner));
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
async function probes(id: string, destinations: Array<[string, number]>): Promise<Record<string, string>> {
  const calls = destinations.map(([host, port]) => `print(${JSON.stringify(`${host}:${port}`)} + "=" + probe(${host.startsWith("gateway") ? "gateway()" : JSON.stringify(host)}, ${port}))`);
  const output = await python(id, `${PROBE}\n${calls.join("\n")}`);
  return Object.fromEntries(output.trim().split("\n").map((line) => line.split("=", 2) as [string, string]));
}

describe("network: internet (the default)", () => {
  test("reaches a public address, but not the metadata address, private ranges, the host or another owner's sandbox", async () => {
    const bobs = await sandboxOf("python-default", "bob");
    await python(bobs, "import subprocess\nsubprocess.Popen(['python3', '-m', 'http.server', '8000'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\nimport time; time.sleep(1)", "bob");
    const bobsAddress = (await python(bobs, "import socket\nprint(socket.gethostbyname(socket.gethostname()))", "bob")).trim();
    // Bob's server answers inside his own sandbox: what follows is the fence, not a dead server.
    expect(await python(bobs, `${PROBE}\nprint(probe("127.0.0.1", 8000)[:4])`, "bob")).toBe("open\n");

    const alices = await sandboxOf("python-default");
    const seen = await probes(alices, [
      ["203.0.113.10", 8080],
      ["169.254.169.254", 8080],
      ["10.213.77.10", 8080],
      [bobsAddress, 8000],
      ["gateway", hostListener.port!],
      [publicHost.hostSideAddress, hostListener.port!],
    ]);
    expect(seen).toEqual({
      "203.0.113.10:8080": "open outside 203.0.113.10:8080",
      "169.254.169.254:8080": expect.stringMatching(/^blocked/),
      "10.213.77.10:8080": expect.stringMatching(/^blocked/),
      [`${bobsAddress}:8000`]: expect.stringMatching(/^blocked/),
      [`gateway:${hostListener.port}`]: expect.stringMatching(/^blocked/),
      [`${publicHost.hostSideAddress}:${hostListener.port}`]: expect.stringMatching(/^blocked/),
    });
  });

  test("the sandbox has no IPv6 and sits on Bay's fenced bridge, not the engine's default one", async () => {
    const id = await sandboxOf("python-default");
    const output = await python(id, "print(open('/proc/sys/net/ipv6/conf/all/disable_ipv6').read().strip())");
    expect(output).toBe("1\n");
    const container = inspectContainer(containersWithLabel(`bay.sandbox_id=${id}`)[0]!);
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

