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
