import { chmodSync, lstatSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "./errors.ts";

/**
 * The data dir holds API keys and the database with live agent tokens, so
 * only Bay's own user may enter it or read what it keeps. Modes are forced at
 * every start: a directory or file left with looser ones (made by hand, by an
 * older Bay, restored from a backup) is tightened, not trusted.
 */
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

export function securePrivateDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: PRIVATE_DIR_MODE });
  // mkdir leaves an existing directory's mode alone.
  chmodSync(path, PRIVATE_DIR_MODE);
}

/** Those of `names` that exist in `dir` become 0600; a symbolic link among them stops Bay (it would chmod, and read, its target). */
export function securePrivateFiles(dir: string, names: readonly string[]): void {
  for (const name of names) {
    const path = join(dir, name);
    let stats;
    try {
      stats = lstatSync(path);
    } catch {
      continue;
    }
    if (stats.isSymbolicLink()) {
      throw new ConfigError("data_dir", `${path} is a symbolic link; Bay keeps its own files in the data dir as regular files`);
    }
    chmodSync(path, PRIVATE_FILE_MODE);
  }
}
