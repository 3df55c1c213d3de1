/**
 * Imported (for its effect, once per test process) by every helper that
 * needs the real engine: the agent inside every sandbox is the compiled
 * binary, so it is built from the current sources first; and those tests
 * need a real engine and the test image, so their absence fails loudly
 * here. Tests that import no such helper (test/unit) need neither.
 */
import { BAY_BINARY, REPO_ROOT, TEST_IMAGE } from "./env.ts";

const build = Bun.spawnSync(["bash", "scripts/build.sh", "--out", BAY_BINARY], { cwd: REPO_ROOT, stderr: "pipe", stdout: "pipe" });
if (build.exitCode !== 0) {
  throw new Error(`building the bay binary failed:\n${build.stderr.toString()}${build.stdout.toString()}`);
}

const engine = Bun.spawnSync(["docker", "image", "inspect", TEST_IMAGE], { stdout: "ignore", stderr: "pipe" });
if (engine.exitCode !== 0) {
  throw new Error(
    `the test image ${TEST_IMAGE} or the Docker engine is missing (${engine.stderr.toString().trim()}); run scripts/test.sh, which sets both up`,
  );
}
