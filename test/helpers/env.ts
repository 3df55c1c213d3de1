import { resolve } from "node:path";
import { slotHolderFileName } from "../../drivers/docker/slot-holder.ts";

/** The repository root, whatever directory bun test was started from. */
export const REPO_ROOT = resolve(import.meta.dir, "../..");
export const BAY_BINARY = resolve(REPO_ROOT, "dist/bay");
/** The native network slot holder, built beside BAY_BINARY (and carried inside it). */
export const SLOT_HOLDER_BINARY = resolve(REPO_ROOT, "dist", slotHolderFileName());
/** Built by scripts/build-image.sh; plain python3, no IPython. */
export const TEST_IMAGE = process.env.BAY_TEST_IMAGE ?? "bay-python:local";
/** Built by scripts/build-image.sh bay-python-ds:local --datascience: IPython, numpy, pandas, matplotlib. */
export const DATASCIENCE_TEST_IMAGE = process.env.BAY_TEST_DATASCIENCE_IMAGE ?? "bay-python-ds:local";
/** Built by scripts/build-image.sh --full: pip and venv, Node.js with npm and pnpm, git, curl, procps, build-essential. */
export const FULL_TEST_IMAGE = process.env.BAY_TEST_FULL_IMAGE ?? "bay-full:local";
export const TEST_API_KEY = "test-key-0123456789abcdef";
/**
 * The runtime every profile of a test Bay runs under (bay-under-test.ts):
 * BAY_TEST_RUNTIME=gvisor runs the suites that prove the sandbox boundary
 * under gVisor (scripts/test.sh); where the runtimes answer differently, a
 * test states both.
 */
export const TEST_RUNTIME: "runc" | "gvisor" = process.env.BAY_TEST_RUNTIME === "gvisor" ? "gvisor" : "runc";
/** The container's engine pids limit for a profile's pids_limit: under gVisor it counts the sentry's threads (docker-driver.ts). */
export const enginePidsLimit = (pidsLimit: number) => (TEST_RUNTIME === "gvisor" ? 256 + 16 * pidsLimit : pidsLimit);
/** How touching a file on a read-only root file system fails for user code: runc's kernel answers EROFS first, gVisor's checks the permission first. */
export const READ_ONLY_REFUSAL = TEST_RUNTIME === "gvisor" ? "Permission denied" : "Read-only file system";
/** The binds every sandbox gets besides the agent, the account files and the session's directory: the statx shim under gVisor. */
export const RUNTIME_BINDS = TEST_RUNTIME === "gvisor" ? ["/etc/ld.so.preload:ro", "/opt/bay/gvisor-statx.so:ro"] : [];
