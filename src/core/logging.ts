import { consola, LogLevels, type ConsolaReporter, type LogObject } from "consola";
import type { BayConfig } from "./config/index.ts";
import { currentRequestId } from "./request-context.ts";

const PROGRESS_TAG = "progress";

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

/**
 * A line about a slow step (an image pull): shown to CLI users even when
 * other info lines are not. Logged through the main instance, so that it
 * follows the reporters set up by configureLogging.
 */
export function logProgress(message: string): void {
  consola.info({ tag: PROGRESS_TAG, message });
}

/** Lets progress lines through whatever the level; everything else only up to `level`. */
function withProgress(reporter: ConsolaReporter, level: number): ConsolaReporter {
  return {
    log(entry, context) {
      if (entry.level <= level || entry.tag === PROGRESS_TAG) reporter.log(entry, context);
    },
  };
}

let basicReporters: ConsolaReporter[] | null = null;

export function configureLogging(log: BayConfig["log"]): void {
  basicReporters ??= [...consola.options.reporters];
  const reporters = log.format === "json" ? [jsonReporter] : basicReporters.map(withRequestId);
  const level = LogLevels[log.level];
  if (log.progress && level < LogLevels.info) {
    consola.level = LogLevels.info;
    consola.setReporters(reporters.map((reporter) => withProgress(reporter, level)));
  } else {
    consola.level = level;
    consola.setReporters(reporters);
  }
}
