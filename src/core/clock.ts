/** Times are stored as epoch milliseconds and shown as ISO-8601 UTC with Z. */
export function isoOrNull(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}
