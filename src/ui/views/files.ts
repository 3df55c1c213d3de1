import type { Bay, DirectoryEntry } from "../../client/index.ts";
import type { DashboardContext } from "../context.ts";
import { bytes, failureText, h, replaceChildren, since } from "../dom.ts";

/**
 * One sandbox's /workspace: browse, upload into the directory shown,
 * download, delete. `refresh` lists again, and shows the files once the
 * sandbox runs if they were held back.
 */
export function filesPanel(context: DashboardContext, sandboxId: string, startsSandbox: () => boolean): { element: HTMLElement; refresh(): void } {
  const { bay } = context;
  let directory = ".";
  const crumbs = h("div", { class: "crumbs" });
  const rows = h("tbody");
  const upload = h("input", { type: "file", multiple: true, name: "upload" });
  const panel = h("section", { class: "files" });

  const open = (path: string) => {
    directory = path;
    void show();
  };
  const show = async () => {
    const parts = directory === "." ? [] : directory.split("/");
    replaceChildren(
      crumbs,
      h("button", { type: "button", class: "link", onclick: () => open(".") }, "/workspace"),
      parts.flatMap((part, index) => ["/", h("button", { type: "button", class: "link", onclick: () => open(parts.slice(0, index + 1).join("/")) }, part)]),
    );
    try {
      const entries = (await bay.files.list(sandboxId, directory)).sort((a, b) => Number(b.is_dir) - Number(a.is_dir) || a.name.localeCompare(b.name));
      replaceChildren(rows, entries.length > 0 ? entries.map((entry) => row(entry)) : h("tr", {}, h("td", { colspan: 4, class: "empty" }, "Empty directory.")));
    } catch (error) {
      context.notify(failureText(error), "error");
    }
  };
  const row = (entry: DirectoryEntry) =>
    h(
      "tr",
      { "data-entry": entry.name },
      h(
        "td",
        {},
        entry.is_dir
          ? h("button", { type: "button", class: "link dir", onclick: () => open(entry.path) }, `${entry.name}/`)
          : h("button", { type: "button", class: "link file", title: "Download", onclick: () => download(bay, sandboxId, entry, context) }, entry.name),
      ),
      h("td", {}, entry.is_dir ? "" : bytes(entry.size)),
      h("td", {}, since(entry.modified_at)),
      h(
        "td",
        {},
        h(
          "button",
          {
            type: "button",
            class: "quiet danger",
            title: `Delete ${entry.name}`,
            onclick: async () => {
              if (!confirm(`Delete ${entry.path}?`)) return;
              await bay.files.delete(sandboxId, entry.path).catch((error: unknown) => context.notify(failureText(error), "error"));
              await show();
            },
          },
          "Delete",
        ),
      ),
    );
  upload.addEventListener("change", async () => {
    for (const file of upload.files ?? []) {
      const path = directory === "." ? file.name : `${directory}/${file.name}`;
      try {
        const done = await bay.files.upload(sandboxId, path, file);
        context.notify(`uploaded ${done.path} (${bytes(done.size)})`);
      } catch (error) {
        context.notify(failureText(error), "error");
      }
    }
    upload.value = "";
    await show();
  });

  const table = h(
    "table",
    {},
    h("thead", {}, h("tr", {}, ["Name", "Size", "Modified", ""].map((title) => h("th", {}, title)))),
    rows,
  );
  let shown = false;
  const reveal = () => {
    shown = true;
    replaceChildren(panel, h("h2", {}, "Files"), crumbs, h("label", { class: "upload" }, "Upload here: ", upload), table);
    void show();
  };
  if (startsSandbox()) {
    // Listing files starts a stopped sandbox: only on request.
    replaceChildren(panel, h("h2", {}, "Files"), h("button", { type: "button", onclick: reveal }, "Show files (starts the sandbox)"));
  } else {
    reveal();
  }
  return {
    element: panel,
    refresh: () => {
      if (shown) void show();
      else if (!startsSandbox()) reveal();
    },
  };
}

async function download(bay: Bay, sandboxId: string, entry: DirectoryEntry, context: DashboardContext): Promise<void> {
  try {
    const content = await bay.files.download(sandboxId, entry.path);
    const url = URL.createObjectURL(new Blob([content as BlobPart]));
    const anchor = h("a", { href: url, download: entry.name });
    document.body.append(anchor);
    anchor.click();
    anchor.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } catch (error) {
    context.notify(failureText(error), "error");
  }
}
