import { Bay } from "../client/index.ts";
import type { DashboardContext, View } from "./context.ts";
import { failureText, h, replaceChildren } from "./dom.ts";
import { adminView } from "./views/admin.ts";
import { cargosView } from "./views/cargos.ts";
import { sandboxView } from "./views/sandbox.ts";
import { sandboxesView } from "./views/sandboxes.ts";
import { signInView } from "./views/sign-in.ts";

/**
 * The dashboard: a page of Bay's own, over Bay's API with the SDK. The key
 * lives in this tab's sessionStorage only, and goes to Bay as a bearer
 * token like any client's; the page itself needs none.
 */
const KEY_STORAGE = "bay.apiKey";
const root = document.getElementById("app")!;
const notice = h("div", { class: "notice", role: "status", hidden: true });
let current: View | null = null;

function notify(message: string, kind: "info" | "error" = "info"): void {
  notice.textContent = message;
  notice.className = `notice ${kind}`;
  notice.hidden = false;
}

async function signIn(key: string): Promise<DashboardContext> {
  const bay = new Bay({ url: location.origin, apiKey: key });
  await bay.sandboxes.list({ limit: 1 });
  // An admin key may read the overview; any other gets 403.
  const admin = await bay.admin.overview().then(
    () => true,
    () => false,
  );
  return { bay, admin, notify, navigate: (hash) => (location.hash = hash) };
}

function showSignIn(problem?: string): void {
  current?.dispose();
  current = null;
  replaceChildren(
    root,
    signInView(problem, async (key) => {
      try {
        const context = await signIn(key);
        sessionStorage.setItem(KEY_STORAGE, key);
        start(context);
      } catch (error) {
        showSignIn(failureText(error));
      }
    }),
  );
}

function start(context: DashboardContext): void {
  const main = h("main");
  const link = (hash: string, label: string) => h("a", { href: hash, "data-nav": hash.slice(2) }, label);
  const signOut = () => {
    sessionStorage.removeItem(KEY_STORAGE);
    location.hash = "";
    showSignIn();
  };
  replaceChildren(
    root,
    h(
      "header",
      {},
      h("strong", { class: "brand" }, "Bay"),
      h("nav", {}, link("#/sandboxes", "Sandboxes"), link("#/cargos", "Cargos"), context.admin && link("#/admin", "Admin")),
      h("button", { type: "button", class: "quiet", onclick: signOut }, "Sign out"),
    ),
    notice,
    main,
  );
  const route = () => {
    current?.dispose();
    notice.hidden = true;
    const [page, id] = location.hash.replace(/^#\/?/, "").split("/");
    for (const anchor of root.querySelectorAll("nav a")) anchor.classList.toggle("active", anchor.getAttribute("data-nav") === page);
    current =
      page === "sandboxes" && id
        ? sandboxView(context, decodeURIComponent(id))
        : page === "cargos"
          ? cargosView(context)
          : page === "admin" && context.admin
            ? adminView(context)
            : sandboxesView(context);
    replaceChildren(main, current.element);
  };
  window.onhashchange = route;
  route();
}

const saved = sessionStorage.getItem(KEY_STORAGE);
if (saved) {
  signIn(saved).then(start, () => showSignIn());
} else {
  showSignIn();
}
