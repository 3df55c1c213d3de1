import { parseMemory, type BayConfig, type SandboxView } from "../../src/kit/front-door.ts";

/**
 * The envd protocol version E2B's SDKs are told; their features switch on by
 * it (docs/e2b.md). 0.5.2: stdin and CloseStdin for commands, no default
 * user sent, recursive watch; below 0.5.7, so uploads stay multipart, and
 * below 0.6.2, so file metadata is refused by the SDK itself.
 */
export const ENVD_VERSION = "0.5.2";

export type E2bState = "running" | "paused";

/** What create and connect answer (E2B's `Sandbox`), with the sandbox's access token when one was just issued. */
export function createdShape(sandbox: SandboxView, accessToken?: string) {
  return {
    // The code interpreter sends the traffic token (and on /execute the access token too): one token serves both.
    ...(accessToken ? { envdAccessToken: accessToken, trafficAccessToken: accessToken } : { trafficAccessToken: null }),
    sandboxID: sandbox.id,
    templateID: sandbox.profile,
    alias: sandbox.profile,
    clientID: "bay",
    envdVersion: ENVD_VERSION,
    domain: null,
  };
}

/** What GET /sandboxes/{id} and the list answer (E2B's `SandboxDetail` and `ListedSandbox`). */
export function detailShape(sandbox: SandboxView, state: E2bState, config: BayConfig) {
  const profile = config.profiles.find((candidate) => candidate.id === sandbox.profile);
  return {
    ...createdShape(sandbox),
    startedAt: sandbox.created_at,
    // E2B's sandboxes always end; one of Bay's without a TTL is shown as ending in the far future.
    endAt: sandbox.expires_at ?? new Date(Date.UTC(9999, 0, 1)).toISOString(),
    state,
    cpuCount: Math.max(1, Math.ceil(profile?.resources.cpus ?? 1)),
    memoryMB: Math.round(parseMemory(profile?.resources.memory ?? "1g") / (1024 * 1024)),
    diskSizeMB: 0,
    metadata: sandbox.metadata,
    allowInternetAccess: profile?.network === "internet",
    volumeMounts: [],
  };
}
