import { parseStringMap } from "./sandbox-labels.ts";
import type { ProfileConfig } from "./config/index.ts";
import type { SessionContainerSpec } from "./driver.ts";
import { bayLabels, containerName, volumeName } from "./labels.ts";
import type { EgressPolicy } from "./network-policy.ts";
import { parseMemory } from "./resources.ts";
import { AGENT_SESSION_DIR, AGENT_SOCKET_NAME, AGENT_TOKEN_FILE_NAME } from "../shared/agent-protocol.ts";

/** Everything a session's container is made from; nothing here is looked up or created. */
export interface ContainerSpecInputs {
  instanceId: string;
  /** `env`: the JSON object of variables given at create, if any. */
  sandbox: { id: string; owner: string; cargoId: string; env?: string };
  session: { id: string };
  profile: ProfileConfig;
  /** The profile's network setting, resolved (names looked up). */
  network: EgressPolicy;
  agentBinaryPath: string;
  agent: { port: number; maxOutputBytes: number };
  /** The session's host directory (session-directories.ts): its token, and with network "none" the agent's socket. */
  sessionDir: string;
}

/** The driver-neutral description of a session's container: what runs, with which limits, labels and network. */
export function buildContainerSpec(inputs: ContainerSpecInputs): SessionContainerSpec {
  const { profile, sandbox, session, agent } = inputs;
  const agentArgs = [
    "ship",
    "--port",
    String(agent.port),
    "--max-output-bytes",
    String(agent.maxOutputBytes),
    "--token-file",
    `${AGENT_SESSION_DIR}/${AGENT_TOKEN_FILE_NAME}`,
  ];
  if (inputs.network.kind === "none") agentArgs.push("--socket", `${AGENT_SESSION_DIR}/${AGENT_SOCKET_NAME}`);
  // Under gVisor the engine's pids limit counts gVisor's own threads, not user code's processes, so the agent
  // also caps those inside, where gVisor's kernel counts them per sandbox (runc's host kernel counts per uid, across all).
  if (profile.runtime === "gvisor") agentArgs.push("--max-user-processes", String(profile.resources.pids_limit));
  // The sandbox's own env (given at create) over the profile's; both reach every process and .bay_env.sh.
  const env = { ...profile.env, ...parseStringMap(sandbox.env ?? "{}") };
  const profileEnvNames = Object.keys(env);
  if (profileEnvNames.length > 0) agentArgs.push("--profile-env", profileEnvNames.join(","));
  return {
    name: containerName(session.id),
    image: profile.image,
    labels: bayLabels({
      instanceId: inputs.instanceId,
      owner: sandbox.owner,
      sandboxId: sandbox.id,
      sessionId: session.id,
      cargoId: sandbox.cargoId,
      profileId: profile.id,
    }),
    env,
    volumeName: volumeName(sandbox.cargoId),
    agentBinaryPath: inputs.agentBinaryPath,
    agentPort: agent.port,
    agentArgs,
    resources: {
      nanoCpus: Math.round(profile.resources.cpus * 1e9),
      memoryBytes: parseMemory(profile.resources.memory),
      pidsLimit: profile.resources.pids_limit,
    },
    network: inputs.network,
    hardening: {
      readOnlyRootfs: profile.security.read_only_rootfs,
      noNewPrivileges: profile.security.no_new_privileges,
      extraCapabilities: profile.security.extra_capabilities,
      tmpSize: profile.security.tmp_size,
    },
    runtime: profile.runtime,
    sessionDir: inputs.sessionDir,
  };
}
