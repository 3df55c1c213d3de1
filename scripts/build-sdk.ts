/**
 * Builds the TypeScript SDK (src/client) as an npm package for Node.js and
 * Bun: ESM JavaScript with no runtime dependency, one self-contained
 * declaration file, and the tarball `npm pack` makes of them.
 *   bun scripts/build-sdk.ts [--out DIR]     # default dist/sdk
 * Prints the tarball's path last.
 */
import { mkdir, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { sdkDeclarations } from "./sdk/declarations.ts";
import { sdkManifest, SDK_README } from "./sdk/manifest.ts";

const root = resolve(import.meta.dir, "..");
const { values } = parseArgs({ options: { out: { type: "string", default: join(root, "dist/sdk") } } });
const out = resolve(values.out);
const packageDir = join(out, "package");

await rm(packageDir, { recursive: true, force: true });
await mkdir(packageDir, { recursive: true });

const bundle = await Bun.build({
  entrypoints: [join(root, "src/client/index.ts")],
  target: "node",
  format: "esm",
  outdir: packageDir,
  naming: "index.js",
});
if (!bundle.success) throw new AggregateError(bundle.logs, "the SDK does not bundle");

const rootManifest = await Bun.file(join(root, "package.json")).json();
await Bun.write(join(packageDir, "index.d.ts"), sdkDeclarations(root));
await Bun.write(join(packageDir, "package.json"), `${JSON.stringify(sdkManifest(rootManifest), null, 2)}\n`);
await Bun.write(join(packageDir, "README.md"), SDK_README);

const pack = Bun.spawnSync(["npm", "pack", "--json", "--pack-destination", out], { cwd: packageDir, stderr: "inherit" });
if (pack.exitCode !== 0) throw new Error(`npm pack failed with status ${pack.exitCode}`);
const [packed] = JSON.parse(pack.stdout.toString()) as { filename: string }[];
if (!packed) throw new Error("npm pack made no tarball");
console.log(join(out, packed.filename));
