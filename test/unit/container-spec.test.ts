/** The container spec is a pure function of the session's facts: what the driver is asked to run follows from the profile alone. */
import { describe, expect, test } from "bun:test";
import { loadBayConfig } from "../../src/composition/bay.ts";
import { buildContainerSpec, type ContainerSpecInputs } from "../../src/core/container-spec.ts";
import { AGENT_TOKEN_ENV } from "../../src/shared/agent-protocol.ts";

const config = loadBayConfig({
  env: {},
  flags: {
    profiles: [
      {
        id: "tight",
        image: "img:1",
        resources: { cpus: 0.5, memory: "256m", pids_limit: 64 },
        env: { GREETING: "hi" },
        security: { read_only_rootfs: false, extra_capabilities: ["NET_RAW"], tmp_size: "32m" },
      },
    ],
  },
});
const profile = config.profiles.find((candidate) => candidate.id === "tight")!;

function inputs(overrides: Partial<ContainerSpecInputs> = {}): ContainerSpecInputs {
  return {
    instanceId: "unit-spec",
    sandbox: { id: "sandbox-aaaaaaaaaaaa", owner: "alice", cargoId: "ws-bbbbbbbbbbbb" },
    session: { id: "session-cccccccccccc" },
    profile,
    network: { kind: "internet" },
    agentBinaryPath: "/opt/bay/bay",
    agent: { port: 8123, maxOutputBytes: 4096 },
    sessionDir: "/data/sessions/session-cccccccccccc",
    ...overrides,
  };
}

describe("buildContainerSpec", () => {
  test("names, labels, image, volume, limits and hardening come from the session, the sandbox and its profile", () => {
    const spec = buildContainerSpec(inputs());
    expect(spec).toMatchObject({
      name: "bay-session-session-cccccccccccc",
      image: "img:1",
      volumeName: "bay-cargo-ws-bbbbbbbbbbbb",
      agentBinaryPath: "/opt/bay/bay",
      agentPort: 8123,
      agentArgs: ["ship", "--port", "8123", "--max-output-bytes", "4096", "--token-file", "/run/bay/token", "--profile-env", "GREETING"],
      resources: { nanoCpus: 500_000_000, memoryBytes: 256 * 1024 * 1024, pidsLimit: 64 },
      network: { kind: "internet" },
      hardening: { readOnlyRootfs: false, noNewPrivileges: true, extraCapabilities: ["NET_RAW"], tmpSize: "32m" },
      sessionDir: "/data/sessions/session-cccccccccccc",
    });
    expect(spec.labels).toEqual({
      "bay.managed": "true",
      "bay.instance_id": "unit-spec",
      "bay.owner": "alice",
      "bay.sandbox_id": "sandbox-aaaaaaaaaaaa",
      "bay.session_id": "session-cccccccccccc",
      "bay.cargo_id": "ws-bbbbbbbbbbbb",
      "bay.profile_id": "tight",
    });
  });

  test("the profile's environment reaches the container; the session token never does (the agent reads its file)", () => {
    const spec = buildContainerSpec(inputs());
    expect(spec.env).toEqual({ GREETING: "hi" });
    expect(JSON.stringify(spec)).not.toContain(AGENT_TOKEN_ENV);
  });

  test("network none: the agent listens on its socket in the session's directory", () => {
    const spec = buildContainerSpec(inputs({ network: { kind: "none" } }));
    expect(spec.agentArgs).toContainValues(["--socket", "/run/bay/agent.sock"]);
    expect(spec.agentArgs[spec.agentArgs.indexOf("--socket") + 1]).toBe("/run/bay/agent.sock");
    expect(spec.sessionDir).toBe("/data/sessions/session-cccccccccccc");
  });

  test("a profile without environment passes no names to the agent", () => {
    expect(buildContainerSpec(inputs({ profile: { ...profile, env: {} } })).agentArgs).not.toContain("--profile-env");
  });

  test("the same inputs give the same spec, and the inputs are left as they were", () => {
    const given = inputs();
    const before = structuredClone(given);
    expect(buildContainerSpec(given)).toEqual(buildContainerSpec(given));
    expect(given).toEqual(before);
  });
});
