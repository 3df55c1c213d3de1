import type { ContainerInfo } from "./driver.ts";

/** What the engine knows about how a container ended. */
export interface ContainerEnd {
  exitCode?: number;
  /** The kernel's OOM killer acted in the container at some point (not necessarily on its main process). */
  outOfMemory?: boolean;
  /** A signal sent through the engine (`docker kill`, `docker stop`) before it ended. */
  killSignal?: string;
}

/** SIGKILL's exit status; what the OOM killer leaves behind. */
const KILLED_EXIT_CODE = 137;

/**
 * The reset reason a sandbox shows. An OOM kill of a child the agent survived
 * leaves the container marked out-of-memory, so OOM is only blamed when the
 * container then ended by SIGKILL that nobody sent through the engine.
 */
export function describeContainerEnd(end: ContainerEnd): string {
  if (end.killSignal) return `container killed through the engine (signal ${end.killSignal}, exit code ${end.exitCode ?? "unknown"})`;
  if (end.outOfMemory && end.exitCode === KILLED_EXIT_CODE) return "out of memory";
  return `container exited (code ${end.exitCode ?? "unknown"})`;
}

/** The reset reason of a container found ended or frozen by inspection (the engine's events know more). */
export function lostContainerReason(info: ContainerInfo | null): string {
  if (!info) return "container disappeared";
  if (info.paused) return "container paused: its agent could not answer";
  return describeContainerEnd({ exitCode: info.exitCode, outOfMemory: info.oomKilled });
}
