/**
 * The statx shim of gVisor sandboxes (gvisor-statx.c): a shared object the
 * build carries, preloaded into every dynamically linked process of a
 * container that runs under gVisor through the image's /etc/ld.so.preload,
 * so that GNU coreutils work there. Images with musl ignore the file, and
 * runc sandboxes never get it.
 */
import { resolve } from "node:path";
import { carriedFile, carriedFileName, type Architecture } from "./carried-files.ts";

export const GVISOR_STATX_SOURCE = resolve(import.meta.dir, "gvisor-statx.c");
const GVISOR_STATX_STEM = "gvisor-statx";

/** Beside the agent, in /opt/bay. */
export const GVISOR_STATX_PATH_IN_CONTAINER = "/opt/bay/gvisor-statx.so";

/** What the container's /etc/ld.so.preload holds: the shim alone. */
export const GVISOR_PRELOAD_LIST = new TextEncoder().encode(`${GVISOR_STATX_PATH_IN_CONTAINER}\n`);

export function gvisorStatxFileName(architecture?: Architecture): string {
  return carriedFileName(GVISOR_STATX_STEM, architecture);
}

/** The shim for this machine; null where the build had no C compiler. */
export function gvisorStatxShim(): Promise<Uint8Array | null> {
  return carriedFile(GVISOR_STATX_STEM);
}

/** The binds that preload the shim, given the engine's paths of the staged shim and preload list. */
export function gvisorStatxBinds(shimOnHost: string, preloadListOnHost: string): string[] {
  return [`${shimOnHost}:${GVISOR_STATX_PATH_IN_CONTAINER}:ro`, `${preloadListOnHost}:/etc/ld.so.preload:ro`];
}
