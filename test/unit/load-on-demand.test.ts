/**
 * What a command loads before it runs: the executable is built in chunks
 * (scripts/build.ts), so only the modules a command imports statically load
 * with it. A client command against a daemon and the in-sandbox agent must
 * not pull in the daemon (its HTTP app, core, state and driver), or every
 * `bay exec --url …` and every sandbox's start pays for loading it.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { readImportGraph, REPO_ROOT } from "../../scripts/import-graph.ts";

const staticGraph = readImportGraph(undefined, { dynamic: false });

/** Every module loaded with `entry`, itself included. */
function loadedWith(entry: string): string[] {
  const seen = new Set<string>([entry]);
  const queue = [entry];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    for (const target of staticGraph.get(next) ?? []) {
      if (!seen.has(target)) {
        seen.add(target);
        queue.push(target);
      }
    }
  }
  return [...seen].sort();
}

/** The daemon's own modules: its HTTP app, its core, its state and the driver's engine client (not the plugins' declarations). */
const DAEMON = /^(src\/api\/|src\/db\/|src\/core\/(bay-core|sandbox-service|session-manager|state-store)\.ts$|src\/composition\/bay\.ts$|drivers\/[^/]+\/(?!index\.ts$|settings\.ts$))/;

describe("modules loaded with a command", () => {
  test("the graph sees static imports only when asked", () => {
    // main.ts names every command with import(…); none of them loads with it.
    expect(loadedWith("src/main.ts")).not.toContain("src/cli/serve.ts");
    expect(readImportGraph().get("src/cli/main.ts")).toContain("src/cli/serve.ts");
  });

  for (const command of ["src/cli/exec.ts", "src/cli/client-command.ts", "src/cli/ship.ts", "src/cli/hold.ts"]) {
    test(`${command} loads none of the daemon`, () => {
      expect(loadedWith(command).filter((module) => DAEMON.test(module))).toEqual([]);
    });
  }

  // src/main.ts runs these before the command line parser and the logger load (the agent needs the logger itself).
  for (const [command, unloaded] of [["src/cli/exec.ts", ["citty", "consola"]], ["src/cli/ship.ts", ["citty"]]] as const) {
    test(`${command} loads none of ${unloaded.join(", ")}`, () => {
      const packagesLoaded = loadedWith(command).flatMap((module) =>
        [...readFileSync(resolve(REPO_ROOT, module), "utf8").matchAll(/^import (?!type )[^;]*?from "([^"]+)";/gm)]
          .map((found) => found[1]!)
          .filter((name) => (unloaded as readonly string[]).includes(name))
          .map((name) => `${module}: ${name}`),
      );
      expect(packagesLoaded).toEqual([]);
    });
  }

  test("bay serve does load the daemon, but only once it runs (the check above can fail)", () => {
    expect(loadedWith("src/composition/bay.ts").filter((module) => DAEMON.test(module)).length).toBeGreaterThan(10);
  });
});
