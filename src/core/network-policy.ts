import { createHash } from "node:crypto";
import { lookup } from "node:dns/promises";
import { isIPv4 } from "node:net";
import { AgentError } from "../shared/errors.ts";

/**
 * A profile's `network` setting (api.md §3): `none`, `internet` (public
 * addresses only) or `{allow: [...]}`. `bridge` is the old name of `internet`.
 */
export type NetworkSetting = "none" | "internet" | "bridge" | { allow: string[] };

/** One allowed destination: an IPv4 network, and one port (TCP and UDP) or all ports. */
export interface EgressRule {
  cidr: string;
  port: number | null;
}

/**
 * What the driver enforces for one session. Names in allow lists are already
 * resolved here, on Bay's side, and pinned in the sandbox's /etc/hosts, so
 * the sandbox reaches exactly the addresses that the firewall lets through.
 */
export type EgressPolicy =
  | { kind: "none" }
  | { kind: "internet" }
  | {
      kind: "allow";
      /** Stable name of this allow list (a digest of its entries), shared by every profile that lists the same. */
      key: string;
      rules: EgressRule[];
      /** Host names of the allow list and the addresses they resolved to. */
      hosts: Record<string, string[]>;
    };

/**
 * Never reachable from a sandbox with `internet`: "this" network, RFC 1918,
 * CGNAT, loopback, link-local (cloud metadata), IETF protocol assignments,
 * benchmarking, multicast and reserved space. The host, Bay and other
 * sandboxes are refused separately, whatever their address.
 */
export const NON_PUBLIC_IPV4_RANGES = [
  "0.0.0.0/8",
  "10.0.0.0/8",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "172.16.0.0/12",
  "192.0.0.0/24",
  "192.168.0.0/16",
  "198.18.0.0/15",
  "224.0.0.0/4",
  "240.0.0.0/4",
];

interface ParsedDestination {
  host: string;
  prefix: number | null;
  port: number | null;
  isName: boolean;
}

const DESTINATION = /^(?<host>[A-Za-z0-9.-]+)(?:\/(?<prefix>[0-9]{1,2}))?(?::(?<port>[0-9]{1,5}))?$/;
const HOST_NAME = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * Reads one allow-list entry: `CIDR`, `IP`, `CIDR:port`, `IP:port` or
 * `host.name:port`. Returns why it is not one, for configuration errors.
 */
export function parseAllowEntry(entry: string): ParsedDestination | string {
  const match = DESTINATION.exec(entry.trim());
  if (!match?.groups) return "expected CIDR, IP, CIDR:port, IP:port or name:port (IPv4 only)";
  const { host, prefix, port } = match.groups as { host: string; prefix?: string; port?: string };
  const portNumber = port === undefined ? null : Number(port);
  if (portNumber !== null && (portNumber < 1 || portNumber > 65535)) return `port ${port} is not in 1..65535`;
  if (isIPv4(host)) {
    const prefixNumber = prefix === undefined ? null : Number(prefix);
    if (prefixNumber !== null && prefixNumber > 32) return `prefix /${prefix} is not in 0..32`;
    return { host, prefix: prefixNumber, port: portNumber, isName: false };
  }
  if (/^[0-9.]+$/.test(host)) return `${host} is not an IPv4 address`;
  if (prefix !== undefined) return "a host name takes no /prefix";
  if (!HOST_NAME.test(host)) return `${host} is not a valid host name`;
  if (portNumber === null) return "a host name needs a port (name:port)";
  return { host: host.toLowerCase(), prefix: null, port: portNumber, isName: true };
}

/** `bridge` is accepted as the old name of `internet`. */
export function normalizeNetworkSetting(setting: NetworkSetting): "none" | "internet" | { allow: string[] } {
  return setting === "bridge" ? "internet" : setting;
}

/** Turns a profile's setting into what the driver enforces; resolves allow-list names now. */
export async function resolveEgressPolicy(
  setting: NetworkSetting,
  resolve: (name: string) => Promise<string[]> = resolveIPv4,
): Promise<EgressPolicy> {
  const normalized = normalizeNetworkSetting(setting);
  if (normalized === "none") return { kind: "none" };
  if (normalized === "internet") return { kind: "internet" };
  const rules: EgressRule[] = [];
  const hosts: Record<string, string[]> = {};
  for (const entry of normalized.allow) {
    const destination = parseAllowEntry(entry);
    if (typeof destination === "string") throw new AgentError(`network allow entry "${entry}": ${destination}`, { network_destination: entry });
    if (!destination.isName) {
      rules.push({ cidr: `${networkAddress(destination.host, destination.prefix ?? 32)}/${destination.prefix ?? 32}`, port: destination.port });
      continue;
    }
    const addresses = hosts[destination.host] ?? (await resolveOrFail(destination.host, resolve));
    hosts[destination.host] = addresses;
    for (const address of addresses) rules.push({ cidr: `${address}/32`, port: destination.port });
  }
  return { kind: "allow", key: allowListKey(normalized.allow), rules, hosts };
}

/** The same list in any order or spelling names the same network. */
export function allowListKey(entries: string[]): string {
  const canonical = [...new Set(entries.map((entry) => entry.trim().toLowerCase()))].sort().join("\n");
  return createHash("sha256").update(canonical).digest("hex").slice(0, 10);
}

async function resolveOrFail(name: string, resolve: (name: string) => Promise<string[]>): Promise<string[]> {
  let addresses: string[];
  try {
    addresses = await resolve(name);
  } catch (error) {
    throw new AgentError(`network allow entry ${name} could not be resolved: ${(error as Error).message}`, { network_destination: name });
  }
  if (addresses.length === 0) throw new AgentError(`network allow entry ${name} has no IPv4 address`, { network_destination: name });
  return [...new Set(addresses)].sort();
}

async function resolveIPv4(name: string): Promise<string[]> {
  const found = await lookup(name, { all: true, family: 4 });
  return found.map((entry) => entry.address);
}

/** 203.0.113.77/24 → 203.0.113.0: iptables would mask it anyway; rules read better canonical. */
function networkAddress(address: string, prefix: number): string {
  const value = address.split(".").reduce((sum, octet) => sum * 256 + Number(octet), 0);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const masked = (value & mask) >>> 0;
  return [24, 16, 8, 0].map((shift) => (masked >>> shift) & 255).join(".");
}
