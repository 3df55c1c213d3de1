import { GENERATED_KEY_FILE } from "./api-keys.ts";
import { INSTANCE_ID_FILE } from "./instance-id.ts";
import { securePrivateDir, securePrivateFiles } from "../shared/private-files.ts";

/** Creates the data dir if needed and makes it and the secrets in it owner-only (the database secures its own files). */
export function prepareDataDir(dataDir: string): void {
  securePrivateDir(dataDir);
  securePrivateFiles(dataDir, [GENERATED_KEY_FILE, INSTANCE_ID_FILE]);
}
