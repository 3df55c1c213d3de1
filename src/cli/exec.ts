import type { CommandDef } from "citty";
import { existsSync, readFileSync } from "node:fs";
import { basename } from "node:path";
import { randomBytes } from "node:crypto";
import { BayError } from "../shared/errors.ts";
import type { Bay } from "../client/index.ts";
import { connect, type Connection } from "./connection.ts";
import { watchStart } from "./run-code.ts";
import { ExecUsageError, parseExecArguments, shellQuote, type ExecRequest } from "./exec-command-line.ts";

/** Exit statuses of `bay exec` besides the command's own (documented in the README). */
export const EXIT_TIMEOUT = 124;
export const EXIT_BAY_FAILURE = 125;
export const EXIT_INTERRUPTED = 130;

/**
 * `bay exec ARGS…`: parses its own arguments (the command's are passed on
 * untouched) and exits with the command's status. src/main.ts calls it
 * before loading the command line parser and the logger, which a one-shot
 * in a shell script would pay for at every call.
 */
export async function runExec(rawArgs: string[]): Promise<never> {
  let request: ExecRequest;
  try {
    request = parseExecArguments(rawArgs);
  } catch (error) {
    if (!(error instanceof ExecUsageError)) throw error;
    process.stderr.write(`bay exec: ${error.message}\n`);
    process.exit(EXIT_BAY_FAILURE);
  }
  process.exit(await execute(request));
}

/** For `bay --help` and `bay exec --help`; a plain definition, so that loading this module does not load citty. */
const execCommand: CommandDef = {
  meta: {
    name: "exec",
    description:
      "Run a command in a fresh sandbox and remove it, like docker run --rm: bay exec [options] python -c CODE | python FILE | python - | CMD ARGS...",
  },
  run: ({ rawArgs }) => runExec(rawArgs),
};
export default execCommand;

/** Runs the request and returns the exit status; never leaves a sandbox it made behind. */
async function execute(request: ExecRequest): Promise<number> {
  const { flags } = request;
  let connection: Connection | undefined;
  let sandboxId = flags.sandbox;
  const ownsSandbox = !flags.sandbox && !flags.keep;
  const interrupted = new AbortController();
  const onSignal = () => interrupted.abort();
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    connection = await connect({ url: flags.url, "api-key": flags.apiKey, config: flags.config, "data-dir": flags.dataDir });
    const { bay } = connection;
    if (!sandboxId) {
      sandboxId = (await bay.sandboxes.create({ profile: flags.profile })).id;
      // Said at once, so the id is known even if a later step fails.
      if (flags.keep) process.stderr.write(`${sandboxId}\n`);
    }
    // The first call that needs the container (an upload, or the command) waits for its start.
    const stopWatching = watchStart(connection, sandboxId);
    let status: number;
    try {
      for (const copy of flags.copyIn) await bay.files.upload(sandboxId, copy.remote, readFileSync(copy.local));
      const command = await commandFor(bay, sandboxId, request.command);
      status = await streamCommand(bay, sandboxId, command, flags, interrupted.signal);
    } finally {
      stopWatching();
    }
    for (const copy of flags.copyOut) await Bun.write(copy.local, await bay.files.download(sandboxId, copy.remote));
    return interrupted.signal.aborted ? EXIT_INTERRUPTED : status;
  } catch (error) {
    if (interrupted.signal.aborted) return EXIT_INTERRUPTED;
    const message = error instanceof BayError ? `${error.code}: ${error.message}` : (error as Error).message;
    process.stderr.write(`bay exec: ${message}\n`);
    return EXIT_BAY_FAILURE;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    // A daemon removes the container after answering; embedded, this process is Bay and must finish the removal itself.
    if (connection && sandboxId && ownsSandbox) await connection.bay.sandboxes.delete(sandboxId, { wait: connection.mode === "embedded" }).catch(() => undefined);
    await connection?.close();
  }
}

/**
 * The shell command line for the request. `python FILE` uploads the local
 * file first; `python -` uploads what arrives on stdin.
 */
async function commandFor(bay: Bay, sandboxId: string, argv: string[]): Promise<string> {
  const [program, first, ...rest] = argv;
  if ((program === "python" || program === "python3") && first !== undefined && !first.startsWith("-")) {
    if (existsSync(first)) {
      const remote = `.bay-exec/${basename(first)}`;
      await bay.files.upload(sandboxId, remote, readFileSync(first));
      return shellQuote(["python3", remote, ...rest]);
    }
  }
  if ((program === "python" || program === "python3") && first === "-") {
    const remote = `.bay-exec/stdin-${randomBytes(4).toString("hex")}.py`;
    await bay.files.upload(sandboxId, remote, new Uint8Array(await Bun.stdin.arrayBuffer()));
    return shellQuote(["python3", remote, ...rest]);
  }
  if (program === "python") return shellQuote(["python3", ...argv.slice(1)]);
  return shellQuote(argv);
}

/** Streams the command's output as it comes; its exit status, 124 on timeout. */
async function streamCommand(
  bay: Bay,
  sandboxId: string,
  command: string,
  flags: ExecRequest["flags"],
  interrupted: AbortSignal,
): Promise<number> {
  if (interrupted.aborted) return EXIT_INTERRUPTED;
  const events = bay.shell.stream(sandboxId, { command, timeout: flags.timeout, env: flags.env });
  // An interrupt must not wait for the next line of output, which may never come.
  const onInterrupt = new Promise<"interrupted">((resolve) => interrupted.addEventListener("abort", () => resolve("interrupted"), { once: true }));
  try {
    for (;;) {
      const next = await Promise.race([events.next(), onInterrupt]);
      if (next === "interrupted") return EXIT_INTERRUPTED;
      if (next.done) break;
      const event = next.value;
      if (event.event === "stdout") process.stdout.write(event.data.text);
      else if (event.event === "stderr") process.stderr.write(event.data.text);
      else if (event.event === "error" && event.data.code) throw new BayError("ship_error", event.data.message ?? "the agent failed");
      else if (event.event === "done") return event.data.exit_code === -1 ? EXIT_TIMEOUT : event.data.exit_code;
    }
  } finally {
    // Closes the stream: the agent then kills the command's process group.
    void events.return(undefined).catch(() => undefined);
  }
  throw new BayError("ship_error", "the output stream ended before the command finished");
}
