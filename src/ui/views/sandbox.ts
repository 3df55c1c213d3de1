import type { Sandbox } from "../../client/index.ts";
import { everyRefresh, perform, type DashboardContext, type View } from "../context.ts";
import { failureText, h, replaceChildren, since, statusBadge, until } from "../dom.ts";
import { consolePanel } from "./console.ts";
import { filesPanel } from "./files.ts";

/** One sandbox: what it is and its clocks, what can be done to it, its files and a console. */
export function sandboxView(context: DashboardContext, id: string): View {
  const { bay } = context;
  const facts = h("dl", { class: "facts" });
  let latest: Sandbox | null = null;

  const act = (done: string, action: () => Promise<unknown>) => perform(context, done, action, refresh);
  const extendBy = h("select", { name: "extend-by" }, [600, 3600, 86_400].map((seconds) => h("option", { value: seconds }, `+${seconds / 60} min`)));
  const actions = h(
    "div",
    { class: "inline actions" },
    h("button", { type: "button", "data-action": "stop", onclick: () => act(`stopped ${id}`, () => bay.sandboxes.stop(id)) }, "Stop"),
    h("button", { type: "button", "data-action": "keepalive", onclick: () => act(`kept ${id} alive`, () => bay.sandboxes.keepalive(id)) }, "Keep alive"),
    extendBy,
    h(
      "button",
      { type: "button", "data-action": "extend", onclick: () => act(`extended ${id}`, () => bay.sandboxes.extendTtl(id, Number(extendBy.value))) },
      "Extend TTL",
    ),
    h(
      "button",
      {
        type: "button",
        class: "danger",
        "data-action": "delete",
        onclick: async () => {
          if (!confirm(`Delete ${id} and its files?`)) return;
          try {
            await bay.sandboxes.delete(id);
            context.navigate("#/sandboxes");
            context.notify(`deleted ${id}`);
          } catch (error) {
            context.notify(failureText(error), "error");
          }
        },
      },
      "Delete",
    ),
  );
  const fact = (term: string, value: string | Node) => [h("dt", {}, term), h("dd", { "data-fact": term.toLowerCase() }, value)];
  const refresh = async () => {
    latest = await bay.sandboxes.get(id);
    replaceChildren(
      facts,
      fact("Status", statusBadge(latest.status)),
      fact("Profile", latest.profile),
      fact("Expires", until(latest.expires_at, "never")),
      fact("Idle stop", latest.status === "ready" ? until(latest.idle_expires_at, "never") : "—"),
      fact("Cargo", latest.cargo_id),
      fact("Created", since(latest.created_at)),
      latest.status_detail ? fact("Detail", latest.status_detail) : null,
    );
  };
  const element = h("section", { class: "sandbox" }, h("h1", {}, h("a", { href: "#/sandboxes" }, "Sandboxes"), " / ", id), facts, actions);
  const files = filesPanel(context, id, () => latest?.status !== "ready");
  // After a run: its files may have changed, and a stopped sandbox has started.
  const console = consolePanel(context, id, () => void refresh().then(files.refresh, () => undefined));
  let stopRefresh = () => {};
  void refresh().then(
    () => {
      element.append(h("div", { class: "panels" }, console.element, files.element));
      stopRefresh = everyRefresh(refresh);
    },
    (error: unknown) => replaceChildren(element, h("h1", {}, id), h("p", { class: "error", role: "alert" }, failureText(error))),
  );
  return {
    element,
    dispose: () => {
      stopRefresh();
      console.dispose();
    },
  };
}
