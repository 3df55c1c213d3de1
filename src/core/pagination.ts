import { ValidationError } from "../shared/errors.ts";
import type { Listed, PageCursor } from "./state-store.ts";

export const MAX_PAGE_LIMIT = 200;

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/**
 * One page in insertion order. `present` turns a row into an item, or null
 * to skip it (a filter on a computed field), so a page may take several reads.
 * Rows created while a client pages appear at the end; none is seen twice.
 */
export async function paginate<Row, Item>(
  read: (after: PageCursor | null, limit: number) => Promise<Listed<Row>[]>,
  limit: number,
  cursor: string | undefined,
  present: (row: Row) => Item | null | Promise<Item | null>,
): Promise<Page<Item>> {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw new ValidationError(`limit must be an integer from 1 to ${MAX_PAGE_LIMIT} (got ${limit})`, { field: "limit" });
  }
  const items: Item[] = [];
  let after = cursor === undefined ? null : decodeCursor(cursor);
  for (;;) {
    const rows = await read(after, limit);
    for (const row of rows) {
      after = row.position;
      const item = await present(row);
      if (item !== null) items.push(item);
      if (items.length === limit) {
        const more = (await read(after, 1)).length > 0;
        return { items, next_cursor: more ? encodeCursor(after) : null };
      }
    }
    if (rows.length < limit) return { items, next_cursor: null };
  }
}

/** Cursors are opaque to clients. */
function encodeCursor(position: PageCursor): string {
  return Buffer.from(`p${position}`).toString("base64url");
}

function decodeCursor(value: string): PageCursor {
  const match = /^p(\d{1,15})$/.exec(Buffer.from(value, "base64url").toString("utf8"));
  if (!match) throw new ValidationError("cursor is not valid", { field: "cursor" });
  return Number(match[1]);
}
