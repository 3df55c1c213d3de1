import { randomBytes } from "node:crypto";
import { Bay } from "../client/index.ts";
import type { CoreConfigFlags } from "./config-args.ts";

/** Flags of every command that talks to Bay. */
export const connectionArgs = {
  url: { type: "string", description: "A Bay daemon to use (default: $BAY_URL; without one, Bay runs embedded in this process)" },
  "api-key": { type: "string", description: "API key for --url (default: $BAY_API_KEY)" },
} as const;

export interface ConnectionFlags extends CoreConfigFlags {
  url?: string;
  "api-key"?: string;
}

export interface Connection {
  bay: Bay;
  /** "daemon" talks HTTP to --url; "embedded" runs the core in this process on the local engine and data dir. */
  mode: "daemon" | "embedded";
  close(): Promise<void>;
}

/**
 * One client for both modes: against a daemon over HTTP, or embedded, where
 * the same client calls the app's handler in-process (no port, no daemon).
 */
export async function connect(flags: ConnectionFlags): Promise<Connection> {
  const url = flags.url ?? process.env.BAY_URL;
  if (url) {
    const bay = new Bay({ url, apiKey: flags["api-key"] ?? process.env.BAY_API_KEY });
    return { bay, mode: "daemon", close: async () => undefined };
  }
  // The command's own output owns stdout; anything the embedded core says goes to stderr.
  const { consola } = await import("consola");
  consola.options.stdout = process.stderr;
  // A key known only to this process; the embedded sandboxes belong to the local owner "default".
  const key = `embedded-${randomBytes(24).toString("hex")}`;
  // Quiet by default, except for progress of slow steps (image pulls), which goes to stderr.
  const { configFromFlags } = await import("./config-args.ts");
  const config = configFromFlags(flags, { log: { level: flags["log-level"] ?? "warn", progress: true } });
  config.security.api_keys = [...config.security.api_keys, { key, owner: "default", admin: true }];
  const { createBay, createBayApp } = await import("../composition/bay.ts");
  const core = await createBay(config);
  const app = await createBayApp(core);
  return {
    bay: new Bay({ apiKey: key, fetch: (request) => app.handle(request) }),
    mode: "embedded",
    close: () => core.close(),
  };
}
