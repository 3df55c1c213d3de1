import { resolve } from "node:path";

/** The repository root, whatever directory bun test was started from. */
export const REPO_ROOT = resolve(import.meta.dir, "../..");
export const BAY_BINARY = resolve(REPO_ROOT, "dist/bay");
/** Built by scripts/build-image.sh; plain python3, no IPython. */
export const TEST_IMAGE = process.env.BAY_TEST_IMAGE ?? "bay-python:local";
/** Built by scripts/build-image.sh bay-python-ipython:local --ipython. */
export const IPYTHON_TEST_IMAGE = process.env.BAY_TEST_IPYTHON_IMAGE ?? "bay-python-ipython:local";
export const TEST_API_KEY = "test-key-0123456789abcdef";
