import type { ExecutionEvent } from "../../client/index.ts";
import type { DashboardContext } from "../context.ts";
import { failureText, h, replaceChildren } from "../dom.ts";

/** A Python and shell console on one sandbox: output streams in as the code prints it; Stop interrupts it. */
export function consolePanel(context: DashboardContext, sandboxId: string, afterRun: () => void): { element: HTMLElement; dispose(): void } {
  const { bay } = context;
  const language = h("select", { name: "language" }, h("option", { value: "python" }, "Python"), h("option", { value: "shell" }, "Shell"));
  const code = h("textarea", { name: "code", rows: 6, spellcheck: "false", placeholder: "print('hello')   (Ctrl+Enter runs)" });
  const run = h("button", { type: "submit" }, "Run");
  const stop = h("button", { type: "button", disabled: true }, "Stop");
  const output = h("pre", { class: "output", "aria-live": "polite" });
  const outcome = h("p", { class: "outcome" });
  let running: AbortController | null = null;

  const show = (event: ExecutionEvent<unknown>) => {
    if (event.event === "stdout" || event.event === "stderr") output.append(h("span", { class: event.event }, event.data.text));
    else if (event.event === "result") {
      const png = event.data.data["image/png"];
      if (png) output.append(h("img", { src: `data:image/png;base64,${png}`, alt: "figure" }));
      else if (event.data.data["text/plain"] !== undefined) output.append(h("span", { class: "result" }, `${event.data.data["text/plain"]}\n`));
    } else if (event.event === "error") {
      output.append(h("span", { class: "stderr" }, event.data.text ?? `${event.data.code}: ${event.data.message}\n`));
    }
    output.scrollTop = output.scrollHeight;
  };
  const execute = async () => {
    if (running || !code.value.trim()) return;
    running = new AbortController();
    const control = { signal: running.signal };
    run.disabled = true;
    stop.disabled = false;
    replaceChildren(output);
    outcome.textContent = "running…";
    outcome.className = "outcome";
    try {
      const events =
        language.value === "python"
          ? bay.python.stream(sandboxId, { code: code.value, timeout: 300 }, control)
          : bay.shell.stream(sandboxId, { command: code.value, timeout: 300 }, control);
      for await (const event of events as AsyncGenerator<ExecutionEvent<Record<string, unknown>>>) {
        if (event.event !== "done") show(event);
        else {
          const done = event.data as { success: boolean; execution_time_ms: number; exit_code?: number };
          outcome.textContent =
            `${done.exit_code !== undefined ? `exit code ${done.exit_code}` : done.success ? "done" : "failed"} · ${done.execution_time_ms} ms`;
          outcome.className = `outcome ${done.success ? "ok" : "failed"}`;
        }
      }
    } catch (error) {
      outcome.textContent = running.signal.aborted ? "stopped" : failureText(error);
      outcome.className = "outcome failed";
    } finally {
      running = null;
      run.disabled = false;
      stop.disabled = true;
      afterRun();
    }
  };
  stop.addEventListener("click", () => running?.abort());
  code.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      void execute();
    }
  });

  return {
    element: h(
      "section",
      { class: "console" },
      h("h2", {}, "Console"),
      h(
        "form",
        {
          onsubmit: (event: Event) => {
            event.preventDefault();
            void execute();
          },
        },
        h("div", { class: "inline" }, language, run, stop),
        code,
      ),
      output,
      outcome,
    ),
    dispose: () => running?.abort(),
  };
}
