import type { AdminOverview } from "../../client/index.ts";
import { refreshingPage, type DashboardContext, type View } from "../context.ts";
import { fillRows, h, replaceChildren, table } from "../dom.ts";

const STATUSES = ["ready", "starting", "idle", "failed", "expired"];
const OWNER_COLUMNS = ["Owner", "Sandboxes", "Ready", "Starting", "Idle", "Failed", "Expired"];

/** For admin keys: every owner's sandboxes, running sessions, warm pools and the execution rate. */
export function adminView(context: DashboardContext): View {
  const cards = h("div", { class: "cards" });
  const owners = h("tbody");
  const pools = h("tbody");
  let previous: { at: number; executions: number } | null = null;

  const card = (label: string, value: string, name: string) => h("div", { class: "card", "data-card": name }, h("span", { class: "value" }, value), h("span", {}, label));
  const refresh = async () => {
    const overview: AdminOverview = await context.bay.admin.overview();
    const now = Date.now();
    // Executions per minute between two refreshes: the counter is the answering replica's own.
    const rate = previous ? ((overview.executions_total - previous.executions) / ((now - previous.at) / 60_000)).toFixed(1) : "…";
    previous = { at: now, executions: overview.executions_total };
    replaceChildren(
      cards,
      card("running sessions", String(overview.running_sessions), "running"),
      card("sandboxes", String(overview.owners.reduce((sum, owner) => sum + owner.sandboxes, 0)), "sandboxes"),
      card("executions / min", rate, "rate"),
      card("executions", String(overview.executions_total), "executions"),
    );
    fillRows(
      owners,
      overview.owners,
      (owner) => h("tr", { "data-owner": owner.owner }, h("td", {}, owner.owner), h("td", {}, String(owner.sandboxes)), STATUSES.map((status) => h("td", {}, String(owner.by_status[status] ?? 0)))),
      "No sandboxes.",
      OWNER_COLUMNS.length,
    );
    fillRows(pools, overview.warm_pools, (pool) => h("tr", { "data-pool": pool.profile }, h("td", {}, pool.profile), h("td", {}, `${pool.ready} / ${pool.target}`)), "No warm pools configured.", 2);
  };
  return refreshingPage(
    "admin",
    "Admin",
    refresh,
    cards,
    h("h2", {}, "Owners"),
    table(OWNER_COLUMNS, owners, { class: "owners" }),
    h("h2", {}, "Warm pools"),
    table(["Profile", "Ready / target"], pools, { class: "pools" }),
  );
}
