import type { Sandbox } from "../../client/index.ts";
import { perform, refreshingPage, type DashboardContext, type View } from "../context.ts";
import { fillRows, h, replaceChildren, since, statusBadge, table, until } from "../dom.ts";

const COLUMNS = ["Sandbox", "Status", "Profile", "Expires", "Idle stop", "Created"];

/** The caller's sandboxes, refreshed while shown, and a form to create one. */
export function sandboxesView(context: DashboardContext): View {
  const { bay } = context;
  const rows = h("tbody");
  const profile = h("select", { name: "profile" });
  const ttl = h("input", { type: "number", name: "ttl", min: 0, value: 3600, title: "Seconds until it expires; 0: never" });
  const create = h("button", { type: "submit" }, "New sandbox");
  void bay.profiles().then(({ items }) => replaceChildren(profile, items.map((item) => h("option", { value: item.id }, item.id))));

  const row = (sandbox: Sandbox) =>
    h(
      "tr",
      { "data-sandbox": sandbox.id },
      h("td", {}, h("a", { href: `#/sandboxes/${encodeURIComponent(sandbox.id)}` }, sandbox.id)),
      h("td", {}, statusBadge(sandbox.status)),
      h("td", {}, sandbox.profile),
      h("td", { class: "ttl" }, until(sandbox.expires_at, "never")),
      h("td", { class: "idle" }, sandbox.status === "ready" ? until(sandbox.idle_expires_at, "never") : "—"),
      h("td", {}, since(sandbox.created_at)),
    );
  const refresh = async () => fillRows(rows, await bay.sandboxes.listAll(), row, "No sandboxes yet.", COLUMNS.length);
  const submit = async (event: Event) => {
    event.preventDefault();
    create.disabled = true;
    await perform(context, (sandbox) => `created ${sandbox.id}`, () => bay.sandboxes.create({ profile: profile.value, ttl: Number(ttl.value) }), refresh);
    create.disabled = false;
  };
  return refreshingPage(
    "sandboxes",
    "Sandboxes",
    refresh,
    h("form", { class: "inline", onsubmit: submit }, h("label", {}, "Profile ", profile), h("label", {}, "TTL (s) ", ttl), create),
    table(COLUMNS, rows),
  );
}
