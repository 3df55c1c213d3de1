/**
 * Compiles src/main.ts into the single `bay` executable (scripts/build.sh
 * passes the target, output and commit).
 *
 *   bun scripts/build.ts --out dist/bay --commit abc123 [--target bun-linux-arm64]
 */
import type { BunPlugin } from "bun";
import { dirname, join } from "node:path";
import { hostArchitecture, type Architecture } from "../drivers/docker/carried-files.ts";
import { GVISOR_STATX_SOURCE, gvisorStatxFileName } from "../drivers/docker/gvisor-statx.ts";
import { SLOT_HOLDER_SOURCE, slotHolderFileName } from "../drivers/docker/slot-holder.ts";

const argument = (name: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : undefined;
};
const outfile = argument("out") ?? "dist/bay";
const commit = argument("commit") ?? "unknown";
const target = argument("target") as Bun.Build.CompileTarget | undefined;

/**
 * Parts of dockerode that Bay never calls, left out of the executable:
 * loading them cost every `bay` process about 50 ms and 18 MB. ssh2 is only
 * for `ssh://` engine addresses; the gRPC session and BuildKit only for
 * image builds. What replaces them fails with a clear message if reached.
 */
export const UNUSED_ENGINE_PARTS: Record<string, string> = {
  ssh2: `module.exports = { Client: function () { throw new Error("bay does not reach engines over ssh:// (use unix:// or tcp://)"); } };`,
  "./session": `module.exports = function () { throw new Error("bay does not open BuildKit sessions"); };`,
  "./buildkit": `module.exports = {};`,
};

const leaveOutUnusedEngineParts: BunPlugin = {
  name: "leave out unused engine parts",
  setup(build) {
    build.onResolve({ filter: /^(ssh2|\.\/session|\.\/buildkit)$/ }, (args) =>
      // Only dockerode's own modules: "./session" elsewhere is someone else's file.
      args.path === "ssh2" || /node_modules\/dockerode\/lib\//.test(args.importer) ? { path: args.path, namespace: "bay-unused" } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "bay-unused" }, (args) => ({ contents: UNUSED_ENGINE_PARTS[args.path]!, loader: "js" }));
  },
};

/** The architecture an executable for `target` runs on (Bun's names). */
function architectureOf(target: string | undefined): Architecture {
  if (!target) return hostArchitecture();
  return target.includes("arm64") || target.includes("aarch64") ? "arm64" : "x64";
}

/** The C compiler for the target's architecture, or null (said) without one. */
function compilerFor(architecture: Architecture): string | null {
  const compiler = architecture === hostArchitecture() ? "cc" : architecture === "arm64" ? "aarch64-linux-gnu-gcc" : "x86_64-linux-gnu-gcc";
  if (Bun.which(compiler)) return compiler;
  console.warn(
    `build: no ${compiler}: the executable carries no native network slot holder (holders run \`bay hold\`, a few MB each) ` +
      "and no statx shim for gVisor sandboxes (GNU coreutils' ls -l and stat fail in them)",
  );
  return null;
}

/** Compiles `source` into the output's directory as `name`; a failure stops the build. */
function compileCarried(compiler: string, source: string, name: string, flags: string[], hint: string): string {
  const output = join(dirname(outfile), name);
  const compiled = Bun.spawnSync([compiler, ...flags, "-Os", "-s", "-Wall", "-Wextra", "-Werror", "-o", output, source], { stderr: "pipe" });
  if (!compiled.success) {
    console.error(compiled.stderr.toString());
    console.error(`build: ${compiler} could not build ${source}${hint}`);
    process.exit(1);
  }
  return output;
}

/**
 * The native files the executable carries (drivers/docker/carried-files.ts),
 * for the target's architecture: the network slots' holder, static
 * (slot-holder.c), and the statx shim of gVisor sandboxes (gvisor-statx.c).
 */
function compileCarriedFiles(): string[] {
  const architecture = architectureOf(target);
  const compiler = compilerFor(architecture);
  if (!compiler) return [];
  return [
    compileCarried(compiler, SLOT_HOLDER_SOURCE, slotHolderFileName(architecture), ["-static"], " (a static build needs the C library's static archive: Debian's libc6-dev)"),
    compileCarried(compiler, GVISOR_STATX_SOURCE, gvisorStatxFileName(architecture), ["-shared", "-fPIC", "-nostdlib"], ""),
  ];
}

const carriedFiles = compileCarriedFiles();
const result = await Bun.build({
  // The native files are embedded as files (Bun.embeddedFiles), not bundled.
  entrypoints: ["src/main.ts", ...carriedFiles],
  // ESM bytecode: parsing is done at build time, which cuts start-up (bay --version) about fourfold.
  format: "esm",
  bytecode: true,
  // Each command's modules in their own chunks, loaded when the command runs: a process no longer loads all of
  // Bay before its first line (`bay ship` in every sandbox, `bay exec`, `bay --version` start ~25 ms sooner).
  splitting: true,
  // Full minify breaks Elysia's handler inference: whitespace and syntax only.
  minify: { whitespace: true, syntax: true, identifiers: false },
  define: { BAY_BUILD_COMMIT: JSON.stringify(commit) },
  plugins: [leaveOutUnusedEngineParts],
  compile: {
    ...(target ? { target } : {}),
    outfile,
    bytecodeOrder: argument("bytecode-order") ?? null,
    // A stray .env or bunfig.toml in the caller's directory must not change the binary's behaviour.
    autoloadDotenv: false,
    autoloadBunfig: false,
  },
});
if (!result.success) {
  for (const log of result.logs) console.error(log);
  process.exit(1);
}
