import { consola } from "consola";
import { BayError, NON_PUBLIC_IPV4_RANGES, type EgressPolicy, type EgressRule } from "../../src/kit/driver.ts";

type FencedPolicy = Exclude<EgressPolicy, { kind: "none" }>;

/** Runs one command with input; resolves with its exit code and output. */
export type CommandRunner = (command: string[], input?: string) => Promise<{ code: number; output: string }>;

/** A fenced bridge's rules are checked again after this long, in case something flushed them. */
const VERIFY_INTERVAL_MS = 30_000;

/** Where Bay's own container reaches agents from, when it runs in one (see admitControlPlane). */
export const CONTROL_CHAIN = "BAY-CTL";
/** Every sandbox bridge's interface name starts so (policy-networks.ts). */
const SANDBOX_BRIDGES = "bay-+";

/**
 * Packet-filter rules on the engine's host for Bay's sandbox bridges. Every
 * packet a sandbox sends enters the host on its bridge interface, so two
 * chains keyed by that interface decide everything:
 *
 * - `BAY-IN-<bridge>` (from INPUT): nothing new reaches the host itself —
 *   not its listeners, not Bay's API — only answers to connections the host
 *   opened (Bay talking to the agent) get through.
 * - `BAY-FWD-<bridge>` (from DOCKER-USER, which Docker runs first in FORWARD):
 *   never another sandbox on the same bridge; then either "public addresses
 *   only" (internet) or "only these" (allow lists).
 *
 * Chains are written with one iptables-restore, which applies atomically: a
 * policy is never half there.
 */
export class EgressFirewall {
  private readonly applied = new Map<string, { rules: string; verifiedAt: number }>();
  private nameservers: { list: string[]; readAt: number } | null = null;
  private readonly run: CommandRunner;
  private readonly extraDenied: string[];

  /** `extraDenied`: more ranges no `internet` sandbox may reach, e.g. the host's public address behind 1:1 NAT. */
  constructor(options: { run?: CommandRunner; extraDenied?: string[] } = {}) {
    this.run = options.run ?? runOnThisHost;
    this.extraDenied = options.extraDenied ?? [];
  }

  /**
   * Puts the policy's rules on the bridge. Rules this process wrote stand
   * unchecked for VERIFY_INTERVAL_MS (session starts stay cheap); after that
   * the next start checks the hooks, and everything is written again when
   * they are gone or the rules changed.
   */
  async fence(bridge: string, policy: FencedPolicy): Promise<void> {
    const rules = chainRules(bridge, policy, policy.kind === "internet" ? await this.hostNameservers() : [], this.extraDenied);
    const known = this.applied.get(bridge);
    if (known?.rules === rules) {
      if (Date.now() - known.verifiedAt < VERIFY_INTERVAL_MS) return;
      if (await this.jumpsPresent(bridge)) {
        known.verifiedAt = Date.now();
        return;
      }
    }
    await this.checkBridgeFiltering();
    await this.iptables(["iptables-restore", "-w", "5", "--noflush"], rules, "write the sandbox firewall chains");
    for (const jump of jumpsOf(bridge)) await this.ensureRule(jump, "-I");
    await this.fenceIPv6(bridge);
    this.applied.set(bridge, { rules, verifiedAt: Date.now() });
  }

  /**
   * Lets Bay's own container, attached to `bridges` (the networks it runs
   * on), open connections to the agent port of sandboxes on Bay's sandbox
   * bridges, and get the answers back; the engine's own isolation between
   * networks would drop both. Nothing else crosses: not other ports, not
   * connections from sandboxes to Bay's networks. The rules name Bay's
   * bridges, not Bay's address, so a sandbox cannot borrow them; they stay
   * when Bay goes (another replica may share its network) and match
   * nothing once its network is removed.
   */
  async admitControlPlane(bridges: string[], agentPort: number): Promise<void> {
    const rules = bridges.flatMap((bridge) => controlRules(bridge, agentPort));
    const key = `${CONTROL_CHAIN} ${JSON.stringify(rules)}`;
    const known = this.applied.get(key);
    if (known && Date.now() - known.verifiedAt < VERIFY_INTERVAL_MS) return;
    await this.checkBridgeFiltering();
    if ((await this.run(["iptables", "-w", "5", "-n", "-L", CONTROL_CHAIN])).code !== 0) {
      await this.iptables(["iptables", "-w", "5", "-N", CONTROL_CHAIN], undefined, `create the ${CONTROL_CHAIN} chain`);
    }
    if (!known) await this.pruneControlRules(bridges);
    for (const rule of rules) await this.ensureRule(rule, "-A");
    await this.ensureRule(["DOCKER-USER", "-j", CONTROL_CHAIN], "-I");
    this.applied.set(key, { rules: key, verifiedAt: Date.now() });
  }

  /** Drops the rules of Bay networks that no longer exist on the host (a removed compose project). */
  private async pruneControlRules(keep: string[]): Promise<void> {
    const listed = await this.run(["iptables", "-w", "5", "-S", CONTROL_CHAIN]);
    if (listed.code !== 0) return;
    for (const line of listed.output.split("\n")) {
      const rule = line.trim().split(/\s+/);
      if (rule[0] !== "-A") continue;
      const bridge = controlRuleBridge(rule);
      if (!bridge || keep.includes(bridge)) continue;
      if ((await this.run(["cat", `/sys/class/net/${bridge}/ifindex`])).code === 0) continue;
      await this.run(["iptables", "-w", "5", "-D", ...rule.slice(1)]);
    }
  }

  private async jumpsPresent(bridge: string): Promise<boolean> {
    for (const jump of jumpsOf(bridge)) {
      if ((await this.run(["iptables", "-w", "5", "-C", ...jump])).code !== 0) return false;
    }
    return true;
  }

  /** Adds a rule that is not there yet: `-I` first in its chain (hooks), `-A` last (a chain's own rules). */
  private async ensureRule(rule: string[], how: "-I" | "-A"): Promise<void> {
    const [chain, ...match] = rule;
    if ((await this.run(["iptables", "-w", "5", "-C", chain!, ...match])).code === 0) return;
    const position = how === "-I" ? [chain!, "1"] : [chain!];
    await this.iptables(["iptables", "-w", "5", how, ...position, ...match], undefined, `add a rule to ${chain}`);
  }

  /** Read on the host (through the runner), at most every VERIFY_INTERVAL_MS. */
  private async hostNameservers(): Promise<string[]> {
    if (this.nameservers && Date.now() - this.nameservers.readAt < VERIFY_INTERVAL_MS) return this.nameservers.list;
    const texts: string[] = [];
    for (const file of RESOLV_CONF_FILES) {
      const read = await this.run(["cat", file]);
      if (read.code === 0) texts.push(read.output);
    }
    this.nameservers = { list: nameserversIn(texts), readAt: Date.now() };
    return this.nameservers.list;
  }

  /** Sandboxes get no IPv6 (sysctl in the container); this drops it at the host too, where ip6tables exists. */
  private async fenceIPv6(bridge: string): Promise<void> {
    for (const chain of ["INPUT", "FORWARD"]) {
      const match = ["-i", bridge, "-j", "DROP"];
      if ((await this.run(["ip6tables", "-w", "5", "-C", chain, ...match])).code === 0) continue;
      const added = await this.run(["ip6tables", "-w", "5", "-I", chain, "1", ...match]);
      if (added.code !== 0) consola.debug(`ip6tables unavailable for ${bridge}: ${added.output.trim()}`);
    }
  }

  /** Without bridge netfilter, packets between sandboxes on one bridge would never meet iptables. */
  private async checkBridgeFiltering(): Promise<void> {
    const setting = "/proc/sys/net/bridge/bridge-nf-call-iptables";
    const read = await this.run(["cat", setting]);
    if (read.code !== 0) throw firewallUnavailable(`${setting} is missing (the br_netfilter module is not loaded)`);
    const value = read.output.trim();
    if (value !== "1") throw firewallUnavailable(`${setting} is ${value}, so traffic between sandboxes would not be filtered`);
  }

  private async iptables(command: string[], input: string | undefined, action: string): Promise<void> {
    const result = await this.run(command, input);
    if (result.code !== 0) throw firewallUnavailable(`could not ${action}: ${result.output.trim().slice(0, 500)}`);
  }
}

export const inputChain = (bridge: string) => `BAY-IN-${bridge}`;
export const forwardChain = (bridge: string) => `BAY-FWD-${bridge}`;

/** The two hooks of a bridge's chains: [chain, ...match] as iptables takes them. */
function jumpsOf(bridge: string): string[][] {
  return [
    ["INPUT", "-i", bridge, "-j", inputChain(bridge)],
    ["DOCKER-USER", "-i", bridge, "-j", forwardChain(bridge)],
  ];
}

/** The iptables-restore input for one bridge: both chains, flushed and refilled in one transaction. */
export function chainRules(bridge: string, policy: FencedPolicy, nameservers: string[], extraDenied: string[] = []): string {
  const input = inputChain(bridge);
  const forward = forwardChain(bridge);
  const refuse = "-j REJECT --reject-with icmp-admin-prohibited";
  const lines = [
    "*filter",
    `:${input} - [0:0]`,
    `:${forward} - [0:0]`,
    `-A ${input} -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT`,
    `-A ${input} ${refuse}`,
    `-A ${forward} -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN`,
    `-A ${forward} -o ${bridge} ${refuse}`,
  ];
  if (policy.kind === "internet") {
    // The engine's DNS forwarder sends a sandbox's lookups from inside the sandbox to the host's resolvers.
    for (const server of nameservers) lines.push(...allowLines(forward, { cidr: `${server}/32`, port: 53 }));
    for (const range of [...NON_PUBLIC_IPV4_RANGES, ...extraDenied]) lines.push(`-A ${forward} -d ${range} ${refuse}`);
    lines.push(`-A ${forward} -j RETURN`);
  } else {
    for (const rule of policy.rules) lines.push(...allowLines(forward, rule));
    lines.push(`-A ${forward} ${refuse}`);
  }
  lines.push("COMMIT", "");
  return lines.join("\n");
}

function allowLines(chain: string, rule: EgressRule): string[] {
  if (rule.port === null) return [`-A ${chain} -d ${rule.cidr} -j RETURN`];
  return ["tcp", "udp"].map((protocol) => `-A ${chain} -d ${rule.cidr} -p ${protocol} --dport ${rule.port} -j RETURN`);
}

/** The control plane's two rules for one of Bay's bridges: its connections to agents, and their answers. */
export function controlRules(bridge: string, agentPort: number): string[][] {
  return [
    [CONTROL_CHAIN, "-i", bridge, "-o", SANDBOX_BRIDGES, "-p", "tcp", "--dport", String(agentPort), "-j", "ACCEPT"],
    [CONTROL_CHAIN, "-i", SANDBOX_BRIDGES, "-o", bridge, "-p", "tcp", "--sport", String(agentPort),
      "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"],
  ];
}

/** The Bay-side bridge a control rule (as `iptables -S` lists it) names, or null. */
export function controlRuleBridge(rule: string[]): string | null {
  for (const flag of ["-i", "-o"]) {
    const value = rule[rule.indexOf(flag) + 1];
    if (rule.includes(flag) && value && value !== SANDBOX_BRIDGES && /^[A-Za-z0-9_.-]{1,15}$/.test(value)) return value;
  }
  return null;
}

/** Where the engine's host keeps the resolvers it forwards sandbox lookups to. */
const RESOLV_CONF_FILES = ["/etc/resolv.conf", "/run/systemd/resolve/resolv.conf"];

/** The IPv4 resolvers named in resolv.conf texts (loopback ones are reached from the host itself). */
export function nameserversIn(texts: string[]): string[] {
  const servers = new Set<string>();
  for (const text of texts) {
    for (const match of text.matchAll(/^\s*nameserver\s+([0-9.]+)\s*$/gm)) {
      if (!match[1]!.startsWith("127.")) servers.add(match[1]!);
    }
  }
  return [...servers].sort();
}

function firewallUnavailable(reason: string): BayError {
  return new BayError(
    "driver_unavailable",
    `cannot fence the sandbox network: ${reason}. Bay needs root (CAP_NET_ADMIN) in the engine host's network namespace, ` +
      "or driver.docker.egress_firewall: off where the host is fenced otherwise",
    { reason: "egress_firewall" },
  );
}

/** Runs a command in this process's own namespaces: right when Bay shares the engine host's network. */
export async function runOnThisHost(command: string[], input?: string): Promise<{ code: number; output: string }> {
  try {
    const child = Bun.spawn(command, { stdin: input === undefined ? "ignore" : new Blob([input]), stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    return { code, output: stderr || stdout };
  } catch (error) {
    return { code: 127, output: (error as Error).message };
  }
}
