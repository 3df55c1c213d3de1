/**
 * The native network slot holder (slot-holder.c): where its source is, what
 * the build names it, and the process a holder container runs. A `bay`
 * built with a C compiler carries the holder inside it (scripts/build.ts);
 * one built without runs `bay hold` in its holders instead, the same rules
 * in a Bun process of a few MB (src/agent/network-holder.ts).
 */
import { resolve } from "node:path";
import { carriedFile, carriedFileName, type Architecture } from "./carried-files.ts";

export const SLOT_HOLDER_SOURCE = resolve(import.meta.dir, "slot-holder.c");

/** Where a holder container finds its program (beside /opt/bay/bay, where sandboxes find the agent). */
export const SLOT_HOLDER_PATH_IN_CONTAINER = "/opt/bay/slot-holder";

const SLOT_HOLDER_STEM = "slot-holder";

export function slotHolderFileName(architecture?: Architecture): string {
  return carriedFileName(SLOT_HOLDER_STEM, architecture);
}

/** The native holder for this machine (carried-files.ts); null without one. */
export function nativeSlotHolder(): Promise<Uint8Array | null> {
  return carriedFile(SLOT_HOLDER_STEM);
}

/** What a holder container runs, and the bind that brings it in. */
export interface HolderProgram {
  bind: string;
  entrypoint: string[];
  env: string[];
}

/**
 * The native holder at `nativeOnHost` (a path the engine can mount), or
 * without one, the agent binary's `bay hold`.
 */
export function holderProgram(nativeOnHost: string | null, agentBinaryOnHost: string, agentPathInContainer: string): HolderProgram {
  if (nativeOnHost) return { bind: `${nativeOnHost}:${SLOT_HOLDER_PATH_IN_CONTAINER}:ro`, entrypoint: [SLOT_HOLDER_PATH_IN_CONTAINER], env: [] };
  return {
    bind: `${agentBinaryOnHost}:${agentPathInContainer}:ro`,
    entrypoint: [agentPathInContainer, "hold"],
    // It looks at its namespace every few seconds: the JIT's memory would outweigh anything it saved (2.6 MB resident instead of 3.3).
    env: ["BUN_JSC_useJIT=0"],
  };
}
