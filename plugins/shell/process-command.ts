import { BayError } from "../../src/kit/capability.ts";
import type { ProcessStartRequest } from "./schemas.ts";

export type ProcessCommand = { command: string; argv?: undefined } | { argv: string[]; command?: undefined };

/** What a start runs: exactly one of a shell command and an argv. Bay checks it, and the agent again. */
export function processCommandOf(request: Pick<ProcessStartRequest, "command" | "argv">): ProcessCommand {
  if (request.command !== undefined && request.argv === undefined) return { command: request.command };
  if (request.argv !== undefined && request.command === undefined) return { argv: request.argv };
  throw new BayError("validation_error", "give exactly one of command (a shell command) and argv (a program and its arguments)", { field: "command" });
}

/** An argv as one line that a shell reads back as the same words (for listings). */
export function argvAsCommand(argv: readonly string[]): string {
  return argv.map((word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`)).join(" ");
}
