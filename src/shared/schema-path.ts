/** A schema error's JSON pointer ("/a/0/b") as the dotted field name errors report ("a.0.b"); "" for the root. */
export function dottedPath(pointer: string | undefined): string {
  return (pointer ?? "").replace(/^\//, "").replaceAll("/", ".");
}

/** The dotted field name, or "(root)" when the whole value is at fault. */
export function fieldName(pointer: string | undefined): string {
  return dottedPath(pointer) || "(root)";
}
