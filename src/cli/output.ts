/** How client commands print: aligned tables for people, JSON for scripts (--json). */
export const outputArgs = {
  json: { type: "boolean", description: "Print JSON instead of a table", default: false },
} as const;

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Columns in order; missing values print as "-". */
export function printTable(rows: Record<string, unknown>[], columns: string[]): void {
  const cells = rows.map((row) => columns.map((column) => format(row[column])));
  const widths = columns.map((column, i) => Math.max(column.length, ...cells.map((line) => line[i]!.length)));
  const line = (values: string[]) => values.map((value, i) => value.padEnd(widths[i]!)).join("  ").trimEnd();
  process.stdout.write(`${line(columns.map((c) => c.toUpperCase()))}\n`);
  for (const values of cells) process.stdout.write(`${line(values)}\n`);
}

/** Either form, from the same data. */
export function printResult(json: boolean, value: unknown, rows: Record<string, unknown>[], columns: string[]): void {
  if (json) printJson(value);
  else printTable(rows, columns);
}

/** Progress for slow steps goes to stderr, so stdout stays the result. */
export function progress(message: string): void {
  if (process.stderr.isTTY || process.env.BAY_PROGRESS === "1") process.stderr.write(`${message}\n`);
}

function format(value: unknown): string {
  if (value === null || value === undefined || value === "") return "-";
  if (Array.isArray(value)) return value.join(",");
  return String(value);
}
