import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";

export const INSTANCE_ID_FILE = "instance_id";

/** A stable id for this Bay's objects on a shared engine, kept in the data dir. */
export function resolveInstanceId(dataDir: string, configured: string | undefined): string {
  if (configured) return configured;
  const file = join(dataDir, INSTANCE_ID_FILE);
  if (existsSync(file)) {
    const stored = readFileSync(file, "utf8").trim();
    if (stored) return stored;
  }
  const id = `bay-${randomBytes(4).toString("hex")}`;
  writeFileSync(file, `${id}\n`, { mode: 0o600 });
  return id;
}
