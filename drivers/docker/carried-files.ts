/**
 * Native files a `bay` executable carries beside its code: compiled from C
 * by scripts/build.ts for the target's architecture and embedded
 * (Bun.embeddedFiles). The driver writes them out for the engine to mount
 * (host-paths.ts). Under `bun run` they are the build's copies in dist/.
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";

export type Architecture = "x64" | "arm64";

export function hostArchitecture(): Architecture {
  return process.arch === "arm64" ? "arm64" : "x64";
}

/** A carried file's name: its stem and the architecture it is for. */
export function carriedFileName(stem: string, architecture: Architecture = hostArchitecture()): string {
  return `${stem}-${architecture}`;
}

/** The carried file `stem` for this machine; null where the build had no compiler for it. */
export async function carriedFile(stem: string): Promise<Uint8Array | null> {
  const name = carriedFileName(stem);
  // Embedded files keep their name, with a content hash added.
  const embedded = Bun.embeddedFiles.find((file) => (file as Blob & { name?: string }).name?.startsWith(name));
  if (embedded) return new Uint8Array(await embedded.arrayBuffer());
  const built = resolve(import.meta.dir, "../../dist", name);
  return existsSync(built) ? readFileSync(built) : null;
}
