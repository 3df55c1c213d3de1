const UNITS: Record<string, number> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** "512m" → bytes, as `docker run --memory` reads it. */
export function parseMemory(value: string): number {
  const match = /^([0-9]+(?:\.[0-9]+)?)([bkmg])?$/i.exec(value.trim());
  if (!match) throw new Error(`not a memory size: ${value}`);
  return Math.round(Number(match[1]) * UNITS[(match[2] ?? "b").toLowerCase()]!);
}
