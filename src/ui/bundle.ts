import { join } from "node:path";

/**
 * A Bun macro: the dashboard's script, bundled for browsers from
 * src/ui/main.ts when Bay is built (and when it runs from source), so the
 * executable carries it as a string. Bun.build cannot run inside a macro
 * while the bundler waits on it; the CLI can.
 */
export function dashboardScript(): string {
  const built = Bun.spawnSync([process.execPath, "build", join(import.meta.dir, "main.ts"), "--target=browser", "--format=esm", "--minify"], {
    stderr: "pipe",
  });
  if (built.exitCode !== 0) throw new Error(`the dashboard does not bundle:\n${built.stderr.toString()}`);
  return built.stdout.toString();
}
