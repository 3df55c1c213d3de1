import type { BayConfig } from "../core/config/index.ts";
import { loadBayConfig } from "../composition/config.ts";

/** Flags every command that runs the core accepts; they override file and environment. */
export const coreConfigArgs = {
  config: { type: "string", description: "YAML config file (default: $BAY_CONFIG or ./bay.yaml)" },
  "data-dir": { type: "string", description: "Data directory (SQLite lives here)" },
  "log-level": { type: "string", description: "silent | error | warn | info | debug" },
  "log-format": { type: "string", description: "pretty | json" },
} as const;

export interface CoreConfigFlags {
  config?: string;
  "data-dir"?: string;
  "log-level"?: string;
  "log-format"?: string;
}

export function configFromFlags(args: CoreConfigFlags, extra: Record<string, unknown> = {}): BayConfig {
  return loadBayConfig({
    file: args.config,
    flags: {
      data_dir: args["data-dir"],
      log: { level: args["log-level"], format: args["log-format"] },
      ...extra,
    },
  });
}
