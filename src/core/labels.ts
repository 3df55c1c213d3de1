import type { Labels } from "./driver.ts";

/** Labels on everything Bay leaves on the engine (api.md §9). */
export const LABEL = {
  managed: "bay.managed",
  instanceId: "bay.instance_id",
  owner: "bay.owner",
  sandboxId: "bay.sandbox_id",
  sessionId: "bay.session_id",
  cargoId: "bay.cargo_id",
  profileId: "bay.profile_id",
} as const;

export interface LabelValues {
  instanceId: string;
  owner: string;
  sandboxId?: string;
  sessionId?: string;
  cargoId?: string;
  profileId?: string;
}

export function bayLabels(values: LabelValues): Labels {
  const labels: Labels = { [LABEL.managed]: "true", [LABEL.instanceId]: values.instanceId, [LABEL.owner]: values.owner };
  if (values.sandboxId) labels[LABEL.sandboxId] = values.sandboxId;
  if (values.sessionId) labels[LABEL.sessionId] = values.sessionId;
  if (values.cargoId) labels[LABEL.cargoId] = values.cargoId;
  if (values.profileId) labels[LABEL.profileId] = values.profileId;
  return labels;
}

/** The filter that selects this Bay instance's objects and nothing else. */
export function instanceFilter(instanceId: string): Labels {
  return { [LABEL.managed]: "true", [LABEL.instanceId]: instanceId };
}

export const containerName = (sessionId: string) => `bay-session-${sessionId}`;
export const volumeName = (cargoId: string) => `bay-cargo-${cargoId}`;
