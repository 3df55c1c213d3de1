import { parseArgs } from "node:util";

/** A command's options as citty declares them: strings, with a default or without. */
export type StringArgs = Record<string, { type: "string"; description: string; default?: string }>;

/**
 * Parses `argv` against citty-style string options with node:util, for the
 * commands src/main.ts runs before citty loads (`bay ship` in every sandbox);
 * citty still renders their --help. Unknown options and stray words are errors.
 */
export function parseStringArgs<A extends StringArgs>(declared: A, argv: string[]): { [K in keyof A]: A[K]["default"] extends string ? string : string | undefined } {
  const options = Object.fromEntries(Object.entries(declared).map(([name, option]) => [name, { type: "string" as const, default: option.default }]));
  return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as never;
}
