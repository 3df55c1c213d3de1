
type Child = Node | string | number | null | undefined | false;
type Attributes = Record<string, string | number | boolean | EventListener | undefined>;

/**
 * Builds an element. Text always goes in as text nodes, never as markup:
 * everything the dashboard shows (file names, output, metadata) is the
 * sandbox's or a client's, and must not become HTML.
 */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (typeof value === "function") element.addEventListener(name.replace(/^on/, ""), value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  append(element, ...children);
  return element;
}

export function append(parent: Node, ...children: (Child | Child[])[]): void {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
}

export function replaceChildren(parent: Element, ...children: (Child | Child[])[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

/** "3m 20s", "2h 5m", "4d 1h": the two largest units. */
export function duration(milliseconds: number): string {
  const seconds = Math.max(0, Math.round(milliseconds / 1000));
  const units: [string, number][] = [["d", 86_400], ["h", 3600], ["m", 60], ["s", 1]];
  const parts: string[] = [];
  let rest = seconds;
  for (const [unit, size] of units) {
    if (rest >= size || (unit === "s" && parts.length === 0)) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
    if (parts.length === 2) break;
  }
  return parts.join(" ");
}

/** Time left until an ISO instant, or what its absence means. */
export function until(instant: string | null, absent: string): string {
  if (!instant) return absent;
  const left = Date.parse(instant) - Date.now();
  return left <= 0 ? "now" : `in ${duration(left)}`;
}

export function since(instant: string): string {
  return `${duration(Date.now() - Date.parse(instant))} ago`;
}

export function bytes(size: number): string {
  if (size < 1024) return `${size} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = size / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function statusBadge(status: string): HTMLElement {
  return h("span", { class: `badge status-${status}`, "data-status": status }, status);
}

/** The message of a failure, as a person reads it: Bay's code and message for a BayError. */
export function failureText(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  return code ? `${code}: ${message}` : String(message ?? error);
}

/** A table with a header row of `titles` over `body`. */
export function table(titles: string[], body: HTMLTableSectionElement, attributes: Attributes = {}): HTMLTableElement {
  return h("table", attributes, h("thead", {}, h("tr", {}, titles.map((title) => h("th", {}, title)))), body);
}

/** Puts one row per item in `body`, or a single row saying `empty` across its `columns`. */
export function fillRows<T>(body: HTMLTableSectionElement, items: T[], row: (item: T) => HTMLElement, empty: string, columns: number): void {
  replaceChildren(body, items.length > 0 ? items.map(row) : h("tr", {}, h("td", { colspan: columns, class: "empty" }, empty)));
}
