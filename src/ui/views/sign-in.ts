import { h } from "../dom.ts";

export function signInView(problem: string | undefined, submit: (key: string) => void): HTMLElement {
  const key = h("input", { type: "password", name: "api-key", autocomplete: "current-password", placeholder: "API key", required: true, autofocus: true });
  return h(
    "form",
    {
      class: "sign-in",
      onsubmit: (event: Event) => {
        event.preventDefault();
        submit(key.value.trim());
      },
    },
    h("h1", {}, "Bay"),
    h("p", {}, "Sign in with a Bay API key. It is kept in this tab only."),
    key,
    h("button", { type: "submit" }, "Sign in"),
    problem && h("p", { class: "error", role: "alert" }, problem),
  );
}
