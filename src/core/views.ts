import { parseStringMap } from "./sandbox-labels.ts";
import { Type, type Static } from "@sinclair/typebox";
import type { ProfileConfig } from "./config/index.ts";
import { isoOrNull } from "./clock.ts";
import { normalizeNetworkSetting } from "./network-policy.ts";
import type { CargoRow, SandboxRow, SessionRow } from "../db/schema.ts";

// Written out literal by literal: Elysia's t.UnionEnum gives an absent optional query field a default.
export const SandboxStatusSchema = Type.Union([
  Type.Literal("expired"),
  Type.Literal("idle"),
  Type.Literal("starting"),
  Type.Literal("ready"),
  Type.Literal("failed"),
]);
export type SandboxStatus = Static<typeof SandboxStatusSchema>;

export interface SandboxView {
  id: string;
  status: SandboxStatus;
  profile: string;
  cargo_id: string;
  capabilities: string[];
  created_at: string;
  expires_at: string | null;
  idle_expires_at: string | null;
  /** When compute was last lost without being asked to stop (kernel state and processes were reset), and why. */
  state_reset_at: string | null;
  state_reset_reason: string | null;
  /** While starting: what the start is busy with when it is slow (e.g. pulling the image). */
  status_detail: string | null;
  metadata: Record<string, string>;
  /** The compute behind it, as shipyard-neo lists it: Bay runs one container per session; empty while idle. */
  containers: ContainerView[];
}

export interface ContainerView {
  /** "ship", the name shipyard-neo gives the container that serves python, shell and filesystem. */
  name: string;
  runtime_type: "ship";
  image: string;
  status: "starting" | "running";
  /** The agent's version from its /meta handshake; null until the handshake. */
  version: string | null;
  capabilities: string[];
  /** Passed its handshake and answers; null while starting. */
  healthy: boolean | null;
}

/** Bay runs a sandbox's one container for python, shell and filesystem; shipyard-neo names that container "ship". */
export const CONTAINER_NAME = "ship";

function containerViews(session: SessionRow | undefined, profile: ProfileConfig | undefined): ContainerView[] {
  if (session?.status !== "running" && session?.status !== "starting") return [];
  const running = session.status === "running";
  return [
    {
      name: CONTAINER_NAME,
      runtime_type: "ship",
      image: profile?.image ?? "",
      status: session.status,
      version: session.runtimeVersion,
      capabilities: profile ? [...profile.capabilities] : [],
      healthy: running ? true : null,
    },
  ];
}

/** Status is computed (api.md §3): expired → ready/starting (a session) → failed (last start) → idle. */
export function sandboxStatus(sandbox: SandboxRow, session: SessionRow | undefined, now = Date.now()): SandboxStatus {
  if (sandbox.expiresAt !== null && now > sandbox.expiresAt) return "expired";
  if (session?.status === "running") return "ready";
  if (session?.status === "starting") return "starting";
  if (sandbox.lastStartError) return "failed";
  return "idle";
}

export function sandboxView(
  sandbox: SandboxRow,
  session: SessionRow | undefined,
  profile: ProfileConfig | undefined,
  statusDetail: string | null = null,
): SandboxView {
  return {
    id: sandbox.id,
    status: sandboxStatus(sandbox, session),
    profile: sandbox.profileId,
    cargo_id: sandbox.cargoId,
    capabilities: profile ? [...profile.capabilities] : [],
    created_at: new Date(sandbox.createdAt).toISOString(),
    expires_at: isoOrNull(sandbox.expiresAt),
    idle_expires_at: session?.status === "running" ? isoOrNull(session.idleExpiresAt) : null,
    state_reset_at: isoOrNull(sandbox.stateResetAt),
    state_reset_reason: sandbox.stateResetReason,
    status_detail: session?.status === "starting" ? statusDetail : null,
    metadata: parseStringMap(sandbox.metadata),
    containers: containerViews(session, profile),
  };
}

/** Profile env is left out: /v1/profiles needs no key and env may hold secrets. */
export interface ProfileView {
  id: string;
  image: string;
  resources: { cpus: number; memory: string };
  capabilities: string[];
  idle_timeout: number;
  description: string;
  network: "none" | "internet" | { allow: string[] };
  warm_pool_size: number;
  runtime: "runc" | "gvisor";
}

/** A profile's container as shipyard-neo describes it with ?detail=true: Bay's one ship container. */
export interface ProfileContainerView {
  name: string;
  runtime_type: "ship";
  capabilities: string[];
  resources: { cpus: number; memory: string };
}

/** With `detail`, the profile also lists its containers, as shipyard-neo's GET /v1/profiles?detail=true does. */
export function profileView(profile: ProfileConfig, detail = false): ProfileView & { containers?: ProfileContainerView[] } {
  const view = baseProfileView(profile);
  if (!detail) return view;
  return { ...view, containers: [{ name: CONTAINER_NAME, runtime_type: "ship", capabilities: view.capabilities, resources: view.resources }] };
}

function baseProfileView(profile: ProfileConfig): ProfileView {
  return {
    id: profile.id,
    image: profile.image,
    resources: { cpus: profile.resources.cpus, memory: profile.resources.memory },
    capabilities: [...profile.capabilities],
    idle_timeout: profile.idle_timeout,
    description: profile.description,
    network: normalizeNetworkSetting(profile.network),
    warm_pool_size: profile.warm_pool_size,
    runtime: profile.runtime,
  };
}

/**
 * Where a cargo lives, in shipyard-neo's terms (docker_volume | k8s_pvc): Bay
 * keeps every cargo in an engine volume, so it is always the first.
 */
export const CARGO_BACKEND = "docker_volume";

export interface CargoView {
  id: string;
  managed: boolean;
  managed_by_sandbox_id: string | null;
  backend: typeof CARGO_BACKEND;
  size_limit_mb: number;
  created_at: string;
  last_accessed_at: string;
}

export function cargoView(cargo: CargoRow): CargoView {
  return {
    id: cargo.id,
    managed: cargo.managed,
    managed_by_sandbox_id: cargo.managedBySandboxId,
    backend: CARGO_BACKEND,
    size_limit_mb: cargo.sizeLimitMb,
    created_at: new Date(cargo.createdAt).toISOString(),
    last_accessed_at: new Date(cargo.lastAccessedAt).toISOString(),
  };
}
