import type { Cargo } from "../../client/index.ts";
import { perform, refreshingPage, type DashboardContext, type View } from "../context.ts";
import { fillRows, h, since, table } from "../dom.ts";

const COLUMNS = ["Cargo", "Size limit", "Sandbox", "Created", "Last used", ""];

/** Cargos (workspace volumes): the external ones, or the ones sandboxes manage; create and delete. */
export function cargosView(context: DashboardContext): View {
  const { bay } = context;
  const rows = h("tbody");
  const managed = h("input", { type: "checkbox", name: "managed" });
  const size = h("input", { type: "number", name: "size", min: 1, max: 65_536, value: 1024 });
  const row = (cargo: Cargo) =>
    h(
      "tr",
      { "data-cargo": cargo.id },
      h("td", {}, cargo.id),
      h("td", {}, `${cargo.size_limit_mb} MB`),
      h("td", {}, cargo.managed_by_sandbox_id ? h("a", { href: `#/sandboxes/${encodeURIComponent(cargo.managed_by_sandbox_id)}` }, cargo.managed_by_sandbox_id) : "—"),
      h("td", {}, since(cargo.created_at)),
      h("td", {}, since(cargo.last_accessed_at)),
      h(
        "td",
        {},
        !cargo.managed &&
          h(
            "button",
            {
              type: "button",
              class: "quiet danger",
              onclick: () => confirm(`Delete ${cargo.id} and its files?`) && perform(context, `deleted ${cargo.id}`, () => bay.cargos.delete(cargo.id), refresh),
            },
            "Delete",
          ),
      ),
    );
  const refresh = async () => fillRows(rows, await bay.cargos.listAll({ managed: managed.checked }), row, "No cargos.", COLUMNS.length);
  managed.addEventListener("change", () => void refresh());
  const create = (event: Event) => {
    event.preventDefault();
    void perform(context, "created a cargo", () => bay.cargos.create({ size_limit_mb: Number(size.value) }), refresh);
  };
  return refreshingPage(
    "cargos",
    "Cargos",
    refresh,
    h(
      "form",
      { class: "inline", onsubmit: create },
      h("label", {}, "Size limit (MB) ", size),
      h("button", { type: "submit" }, "New cargo"),
      h("label", { class: "toggle" }, managed, " managed by sandboxes"),
    ),
    table(COLUMNS, rows),
  );
}
