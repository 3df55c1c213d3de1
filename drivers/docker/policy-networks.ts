import type Docker from "dockerode";
import { BayError, KeyedMutex, LABEL, type EgressPolicy } from "../../src/kit/driver.ts";
import type { EgressFirewall } from "./egress-firewall.ts";
import { statusOf, type EngineCall } from "./errors.ts";

type FencedPolicy = Exclude<EgressPolicy, { kind: "none" }>;

/** A Docker network for one egress policy, and the host interface its packets enter by. */
export interface PolicyNetwork {
  name: string;
  bridge: string;
}

export const POLICY_LABEL = "bay.network_policy";

/**
 * Sandboxes with the same policy share one bridge network: inter-container
 * traffic off, its own interface name so that the firewall can match it. The
 * networks belong to no instance (every Bay on the engine means the same by
 * them) and stay when sandboxes go: they are cheap, and removing one while
 * another Bay starts a sandbox on it would race.
 */
export function policyNetworkOf(policy: FencedPolicy): PolicyNetwork {
  // Interface names have at most 15 characters.
  return policy.kind === "internet"
    ? { name: "bay-internet", bridge: "bay-inet" }
    : { name: `bay-allow-${policy.key}`, bridge: `bay-a${policy.key}` };
}

export class PolicyNetworks {
  private readonly creating = new KeyedMutex();
  private readonly known = new Set<string>();

  constructor(
    private readonly docker: Docker,
    private readonly engine: EngineCall,
    /** null when driver.docker.egress_firewall is off. */
    private readonly firewall: EgressFirewall | null,
  ) {}

  /** The network a session with this policy joins, created and fenced if needed. */
  async ensure(policy: FencedPolicy): Promise<PolicyNetwork> {
    if (policy.kind === "allow" && !this.firewall) {
      throw new BayError("driver_unavailable", "a network allow list needs driver.docker.egress_firewall: iptables", {
        reason: "egress_firewall",
      });
    }
    const network = policyNetworkOf(policy);
    await this.creating.run(network.name, async () => {
      if (!this.known.has(network.name)) {
        await this.createIfMissing(network, policy);
        this.known.add(network.name);
      }
    });
    await this.firewall?.fence(network.bridge, policy);
    return network;
  }

  private async createIfMissing(network: PolicyNetwork, policy: FencedPolicy): Promise<void> {
    const existing = await this.inspect(network.name);
    if (existing) return checkIsolated(network, existing);
    try {
      await this.engine("create a sandbox network", () =>
        this.docker.createNetwork({
          Name: network.name,
          Driver: "bridge",
          CheckDuplicate: true,
          Labels: { [LABEL.managed]: "true", [POLICY_LABEL]: policy.kind },
          Options: {
            "com.docker.network.bridge.name": network.bridge,
            "com.docker.network.bridge.enable_icc": "false",
            "com.docker.network.bridge.enable_ip_masquerade": "true",
          },
        }),
      );
    } catch (error) {
      // Another Bay (or another start here) created it first.
      const raced = await this.inspect(network.name);
      if (!raced) throw error;
      checkIsolated(network, raced);
    }
  }

  private async inspect(name: string): Promise<Docker.NetworkInspectInfo | null> {
    return this.engine("inspect a sandbox network", async () => {
      try {
        return (await this.docker.getNetwork(name).inspect()) as Docker.NetworkInspectInfo;
      } catch (error) {
        if (statusOf(error) === 404) return null;
        throw error;
      }
    });
  }
}

/** A network of that name made by someone else must not quietly let sandboxes talk to each other. */
function checkIsolated(network: PolicyNetwork, info: Docker.NetworkInspectInfo): void {
  const options = info.Options ?? {};
  if (options["com.docker.network.bridge.enable_icc"] !== "false" || options["com.docker.network.bridge.name"] !== network.bridge) {
    throw new BayError(
      "driver_unavailable",
      `network ${network.name} exists but is not Bay's (inter-container traffic must be off, bridge ${network.bridge}); remove it and Bay recreates it`,
      { network: network.name },
    );
  }
}
