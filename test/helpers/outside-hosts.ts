import { randomBytes } from "node:crypto";

/**
 * Hosts "outside" the sandbox, made by the test itself: each is a network
 * namespace joined to the host by a veth pair, holding one address and an
 * HTTP server on a few ports that answers with its own address. Traffic to
 * them never leaves this machine.
 */
export interface OutsideHost {
  address: string;
  /** The host's own address on the link to this namespace. */
  hostSideAddress: string;
  close(): Promise<void>;
}

const NAMESPACE_PREFIX = "bayt-";

export async function startOutsideHost(subnet: string, hostOctet: number, ports: number[]): Promise<OutsideHost> {
  const id = randomBytes(3).toString("hex");
  const namespace = `${NAMESPACE_PREFIX}${id}`;
  const hostSide = `bto${id}`;
  const insideName = `bti${id}`;
  const hostSideAddress = `${subnet}.1`;
  const address = `${subnet}.${hostOctet}`;
  await removeStaleLinks(hostSideAddress);
  await refuseSubnetInUse(subnet);
  await sh(["ip", "netns", "add", namespace]);
  const inside = (command: string[]) => ["ip", "netns", "exec", namespace, ...command];
  await sh(["ip", "link", "add", hostSide, "type", "veth", "peer", "name", insideName]);
  await sh(["ip", "link", "set", insideName, "netns", namespace]);
  await sh(["ip", "addr", "add", `${hostSideAddress}/24`, "dev", hostSide]);
  await sh(["ip", "link", "set", hostSide, "up"]);
  await sh(inside(["ip", "addr", "add", `${address}/24`, "dev", insideName]));
  await sh(inside(["ip", "link", "set", insideName, "up"]));
  await sh(inside(["ip", "link", "set", "lo", "up"]));
  await sh(inside(["ip", "route", "add", "default", "via", hostSideAddress]));
  const script = `for (const port of ${JSON.stringify(ports)}) Bun.serve({ hostname: ${JSON.stringify(address)}, port, fetch: () => new Response("outside " + ${JSON.stringify(address)} + ":" + port) }); console.log("ready");`;
  const server = Bun.spawn(inside([process.execPath, "-e", script]), { stdout: "pipe", stderr: "inherit" });
  const reader = server.stdout.getReader();
  const first = await reader.read();
  if (!new TextDecoder().decode(first.value ?? new Uint8Array()).includes("ready")) throw new Error(`outside host ${address} did not start`);
  return {
    address,
    hostSideAddress,
    async close() {
      server.kill();
      await server.exited;
      await sh(["ip", "link", "del", hostSide]).catch(() => undefined);
      await sh(["ip", "netns", "del", namespace]).catch(() => undefined);
    },
  };
}

/** A run that died half-way may have left its link holding the address. */
async function removeStaleLinks(hostSideAddress: string): Promise<void> {
  const listing = await sh(["ip", "-o", "-4", "addr", "show"]);
  for (const line of listing.split("\n")) {
    const match = /^\d+:\s+(\S+)\s+inet\s+([0-9.]+)\//.exec(line);
    if (match && match[2] === hostSideAddress && match[1]!.startsWith("bto")) await sh(["ip", "link", "del", match[1]!.split("@")[0]!]);
  }
  for (const namespace of (await sh(["ip", "netns", "list"])).split("\n")) {
    const name = namespace.split(" ")[0]!;
    if (name.startsWith(NAMESPACE_PREFIX)) {
      const links = await sh(["ip", "netns", "exec", name, "ip", "-o", "-4", "addr", "show"]).catch(() => "");
      if (links.includes(` ${hostSideAddress.replace(/\.1$/, ".")}`)) await sh(["ip", "netns", "del", name]).catch(() => undefined);
    }
  }
}

/**
 * Refuses a subnet this machine already reaches by any route or address
 * (its own network, a gateway, a /32 to a metadata service): the host-side
 * link would take over those addresses, and test traffic meant for the
 * namespace could leave the machine. Routes of the default kind match all
 * addresses and say nothing; their gateways are checked.
 */
async function refuseSubnetInUse(subnet: string): Promise<void> {
  const ours = ipv4ToNumber(`${subnet}.0`);
  for (const line of (await sh(["ip", "-4", "route", "show", "table", "all"])).split("\n")) {
    if (/\bdev bto[0-9a-f]+\b/.test(line)) continue;
    for (const token of line.split(/\s+/)) {
      const match = /^(\d+\.\d+\.\d+\.\d+)(?:\/(\d+))?$/.exec(token);
      if (!match) continue;
      const length = Math.min(Number(match[2] ?? 32), 24);
      if (length === 0) continue;
      if ((ipv4ToNumber(match[1]!) ^ ours) >>> (32 - length) === 0) {
        throw new Error(`an outside host cannot use ${subnet}.0/24: this machine already uses ${token} ("${line.trim()}"); pick a range it does not route`);
      }
    }
  }
}

function ipv4ToNumber(address: string): number {
  return address.split(".").reduce((value, octet) => value * 256 + Number(octet), 0);
}

async function sh(command: string[]): Promise<string> {
  const child = Bun.spawn(command, { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (code !== 0) throw new Error(`${command.join(" ")} failed (${code}): ${stderr.trim()}`);
  return stdout;
}
