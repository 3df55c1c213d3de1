import { consola, LogLevels, type ConsolaReporter } from "consola";
import type { BayConfig } from "./config/index.ts";

/** One JSON object per line, for log collectors. */
const jsonReporter: ConsolaReporter = {
  log(entry) {
    const message = entry.args.map((a) => (a instanceof Error ? a.stack ?? a.message : typeof a === "string" ? a : JSON.stringify(a))).join(" ");
    process.stderr.write(`${JSON.stringify({ time: entry.date.toISOString(), level: entry.type, message })}\n`);
  },
};

export function configureLogging(log: BayConfig["log"]): void {
  consola.level = LogLevels[log.level];
  if (log.format === "json") consola.setReporters([jsonReporter]);
}
