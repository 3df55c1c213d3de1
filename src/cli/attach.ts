import { defineCommand } from "citty";
import type { Bay } from "../client/index.ts";
import { BayError } from "../shared/errors.ts";
import { clientArgs, withBay } from "./client-command.ts";
import { announceColdStart } from "./run-code.ts";

/** What runs in the terminal when no command is given: a login shell, bash where there is one. */
const LOGIN_SHELL = "if command -v bash >/dev/null 2>&1; then exec bash -l; else exec sh -l; fi";

/**
 * `bay attach ID [COMMAND]`: an interactive terminal in a sandbox, as
 * `docker exec -it` gives. The command runs as a process with a terminal
 * (…/processes with `pty`), which leads its own session there; this side's
 * terminal is put in raw mode, so every key (Ctrl-C, Ctrl-D, arrows) goes to
 * the sandbox's terminal, which acts on it as a local one would, and resizes
 * follow. It exits with the command's status.
 */
export default defineCommand({
  meta: { name: "attach", description: "An interactive terminal in a sandbox, like docker exec -it: bay attach ID [COMMAND]" },
  args: {
    ...clientArgs,
    id: { type: "positional", description: "Sandbox id", required: true },
    command: { type: "positional", description: "Shell command to run in the terminal (default: a login shell)", required: false },
    cwd: { type: "string", description: "Working directory relative to /workspace" },
  },
  run: ({ args }) =>
    withBay(args, async ({ bay }) => {
      if (!process.stdin.isTTY || !process.stdout.isTTY) {
        throw new BayError("validation_error", "bay attach needs a terminal on stdin and stdout, as docker exec -it does");
      }
      await announceColdStart(bay, args.id);
      process.exitCode = await attach(bay, args.id, args.command || LOGIN_SHELL, args.cwd);
    }),
});

async function attach(bay: Bay, id: string, command: string, cwd: string | undefined): Promise<number> {
  const size = () => ({ cols: process.stdout.columns || 80, rows: process.stdout.rows || 24 });
  const events = bay.processes.run(id, { command, cwd, pty: size(), stdin: true, encoding: "base64" });
  const first = await events.next();
  if (first.done || first.value.event !== "start") throw new BayError("ship_error", "the terminal did not start");
  const pid = first.value.data.pid;

  // Keys reach the sandbox in the order they were typed: one write at a time.
  let writes = Promise.resolve();
  const onKeys = (bytes: Buffer) => {
    writes = writes.then(() => bay.processes.writeStdin(id, pid, bytes)).catch(() => undefined);
  };
  const onResize = () => void bay.processes.resize(id, pid, size()).catch(() => undefined);
  process.stdin.setRawMode(true);
  process.stdin.on("data", onKeys);
  process.stdin.resume();
  process.stdout.on("resize", onResize);
  try {
    for await (const event of events) {
      if (event.event === "pty" || event.event === "stdout" || event.event === "stderr") process.stdout.write(Buffer.from(event.data.data, "base64"));
      else if (event.event === "exit") return event.data.exit_code ?? 0;
    }
    throw new BayError("ship_error", "the terminal's output stream ended before its process did");
  } catch (error) {
    if (error instanceof BayError) throw error;
    throw new BayError("ship_error", `the connection to the terminal dropped (${(error as Error).message}); the process ${pid} may still run`);
  } finally {
    process.stdout.off("resize", onResize);
    process.stdin.off("data", onKeys);
    process.stdin.setRawMode(false);
    process.stdin.pause();
  }
}
