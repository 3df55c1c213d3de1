import { consola, LogLevels, type ConsolaReporter, type LogObject } from "consola";
import type { BayConfig } from "./config/index.ts";
import { currentRequestId } from "./request-context.ts";

function messageOf(entry: LogObject): string {
  return entry.args
    .map((a) => (a instanceof Error ? (a.stack ?? a.message) : typeof a === "string" ? a : JSON.stringify(a)))
    .join(" ");
}

/** One JSON object per line, for log collectors; request_id when the line is about a request. */
const jsonReporter: ConsolaReporter = {
  log(entry) {
    const requestId = currentRequestId();
    const line = { time: entry.date.toISOString(), level: entry.type, message: messageOf(entry), ...(requestId ? { request_id: requestId } : {}) };
    process.stderr.write(`${JSON.stringify(line)}\n`);
  },
};

/** Puts the request id in front of every line logged while serving a request. */
function withRequestId(reporter: ConsolaReporter): ConsolaReporter {
  return {
    log(entry, context) {
      const requestId = currentRequestId();
      reporter.log(requestId ? { ...entry, args: [`[${requestId}]`, ...entry.args] } : entry, context);
    },
  };
}

let basicReporters: ConsolaReporter[] | null = null;

export function configureLogging(log: BayConfig["log"]): void {
  consola.level = LogLevels[log.level];
  basicReporters ??= [...consola.options.reporters];
  consola.setReporters(log.format === "json" ? [jsonReporter] : basicReporters.map(withRequestId));
}
