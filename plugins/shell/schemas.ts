import { Type, type Static } from "@sinclair/typebox";
import { ENVIRONMENT_NAME, EXECUTION_HISTORY_FIELDS } from "../../src/kit/capability.ts";

export const SHELL_DEFAULT_TIMEOUT_SECONDS = 30;


/** One source for Bay's validation, the agent's re-check and the OpenAPI document. */
export const ShellExecRequest = Type.Object(
  {
    command: Type.String({ minLength: 1, description: "Run by /bin/bash -c (or /bin/sh where bash is absent)" }),
    timeout: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 300,
        default: SHELL_DEFAULT_TIMEOUT_SECONDS,
        description: "Seconds before the whole process group is killed",
      }),
    ),
    cwd: Type.Optional(Type.String({ description: "Working directory relative to /workspace (default: /workspace)" })),
    env: Type.Optional(
      Type.Record(Type.String({ pattern: ENVIRONMENT_NAME.source }), Type.String(), {
        description: "Extra environment variables for this command",
      }),
    ),
    ...EXECUTION_HISTORY_FIELDS,
  },
  { additionalProperties: false },
);
export type ShellExecRequest = Static<typeof ShellExecRequest>;

/** What the agent's /shell/exec answers; Bay adds the execution id. */
export const ShellExecOutcome = Type.Object({
  success: Type.Boolean({ description: "exit_code == 0" }),
  output: Type.String({ description: "stdout" }),
  error: Type.String({ description: "stderr, followed by the failure (e.g. the timeout) if any" }),
  exit_code: Type.Integer({ description: "The command's exit status; -1 when it was killed on timeout" }),
  execution_time_ms: Type.Integer(),
  truncated: Type.Optional(Type.Boolean()),
});
export type ShellExecOutcome = Static<typeof ShellExecOutcome>;

export const ShellExecResponse = Type.Composite([
  ShellExecOutcome,
  Type.Object({
    execution_id: Type.String({ pattern: "^exec-[0-9a-f]{12}$" }),
    command: Type.Optional(Type.String({ description: "The command, when the request set include_code" })),
  }),
]);

/** Background processes: a sandbox keeps at most this many running at once. */
export const MAX_RUNNING_PROCESSES = 64;
/** Finished processes whose exit status and output stay readable, newest first. */
export const KEPT_FINISHED_PROCESSES = 64;

const Pid = Type.Integer({ minimum: 1, maximum: 4194304, description: "The process id inside the sandbox, as start answered it" });
const ProcessSignal = Type.Union(
  (["SIGTERM", "SIGKILL", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGSTOP", "SIGCONT"] as const).map((name) => Type.Literal(name)),
  { description: "Sent to the process's whole process group" },
);
const TerminalSize = {
  cols: Type.Integer({ minimum: 1, maximum: 1000 }),
  rows: Type.Integer({ minimum: 1, maximum: 1000 }),
};

const outputEncoding = (description: string) => Type.Union([Type.Literal("utf8"), Type.Literal("base64")], { default: "utf8", description });

export const ProcessStartRequest = Type.Object(
  {
    command: Type.Optional(Type.String({ minLength: 1, description: "Run by /bin/bash -c (or /bin/sh where bash is absent); give this or `argv`" })),
    argv: Type.Optional(
      Type.Array(Type.String({ maxLength: 1024 * 1024 }), {
        minItems: 1,
        maxItems: 4096,
        description: "The program and its arguments, run with no shell in between (the program is looked up in PATH); give this or `command`",
      }),
    ),
    cwd: Type.Optional(Type.String({ description: "Working directory relative to /workspace (default: /workspace)" })),
    env: Type.Optional(Type.Record(Type.String({ pattern: ENVIRONMENT_NAME.source }), Type.String(), { description: "Extra environment variables" })),
    stdin: Type.Optional(Type.Boolean({ default: false, description: "Keep stdin open for …/processes/stdin (otherwise it reads end of file)" })),
    pty: Type.Optional(Type.Object(TerminalSize, { additionalProperties: false, description: "Run in a terminal of this size: stdout and stderr merge into one `pty` stream, stdin is the keyboard" })),
    timeout: Type.Optional(Type.Integer({ minimum: 0, maximum: 86400, default: 0, description: "Seconds before the process group is killed; 0: until the sandbox's session ends" })),
    tag: Type.Optional(Type.String({ maxLength: 200, description: "A label of the caller's, shown in listings" })),
    encoding: Type.Optional(outputEncoding("With Accept: text/event-stream: how output bytes are carried in the events' `data`")),
  },
  { additionalProperties: false },
);
export type ProcessStartRequest = Static<typeof ProcessStartRequest>;

export const ProcessInfo = Type.Object({
  pid: Pid,
  command: Type.String({ description: "The shell command, or the argv written as one (shell-quoted)" }),
  argv: Type.Union([Type.Array(Type.String()), Type.Null()], { description: "The argv it was started with; null for a shell command" }),
  cwd: Type.String({ description: "Relative to /workspace" }),
  tag: Type.Union([Type.String(), Type.Null()]),
  pty: Type.Boolean(),
  stdin: Type.Boolean({ description: "stdin is open for writing" }),
  running: Type.Boolean(),
  exit_code: Type.Union([Type.Integer(), Type.Null()], { description: "null while running; 128+N after signal N" }),
  started_at: Type.String({ format: "date-time" }),
  ended_at: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
  output_bytes: Type.Integer({ description: "Bytes of output so far" }),
  dropped_bytes: Type.Integer({ description: "Oldest output no longer kept (the buffer holds the last ship.max_output_bytes)" }),
});
export type ProcessInfo = Static<typeof ProcessInfo>;

export const ProcessList = Type.Object({ items: Type.Array(ProcessInfo) });
export const NoInput = Type.Object({}, { additionalProperties: false });
export const ProcessSelector = Type.Object({ pid: Pid }, { additionalProperties: false });
export const ProcessStdinRequest = Type.Object(
  {
    pid: Pid,
    data: Type.String({ maxLength: 8 * 1024 * 1024, description: "What to write to stdin (the terminal, for a pty)" }),
    encoding: Type.Optional(Type.Union([Type.Literal("utf8"), Type.Literal("base64")], { default: "utf8" })),
  },
  { additionalProperties: false },
);
export const ProcessSignalRequest = Type.Object({ pid: Pid, signal: ProcessSignal }, { additionalProperties: false });
export const ProcessResizeRequest = Type.Object({ pid: Pid, ...TerminalSize }, { additionalProperties: false });
export const ProcessWaitRequest = Type.Object(
  { pid: Pid, timeout: Type.Optional(Type.Integer({ minimum: 0, maximum: 300, default: 30, description: "Seconds to wait at most; the answer says whether it still runs" })) },
  { additionalProperties: false },
);
export const ProcessStreamQuery = Type.Object(
  {
    pid: Type.Integer({ minimum: 1, maximum: 4194304 }),
    after: Type.Optional(
      Type.Integer({ minimum: 0, description: "Resume after this seq, the last one received (a seq counts the output's bytes up to its event's end; 0 or absent: from the oldest output kept)" }),
    ),
    encoding: Type.Optional(outputEncoding("How output bytes are carried in `data`")),
    follow: Type.Optional(Type.Boolean({ default: true, description: "Stay until the process exits (false: only what is kept now)" })),
  },
  { additionalProperties: false },
);
export type ProcessStreamQuery = Static<typeof ProcessStreamQuery>;
export const StatusOk = Type.Object({ status: Type.Literal("ok") });
export const ProcessOutputQuery = Type.Object(
  {
    pid: Type.Integer({ minimum: 1, maximum: 4194304 }),
    after: Type.Optional(Type.Integer({ minimum: 0, description: "Only output after this seq (the last one read)" })),
  },
  { additionalProperties: false },
);
export const ProcessOutput = Type.Object({
  process: ProcessInfo,
  chunks: Type.Array(
    Type.Object({
      seq: Type.Integer(),
      stream: Type.Union([Type.Literal("stdout"), Type.Literal("stderr"), Type.Literal("pty")]),
      data: Type.String({ description: "UTF-8 text" }),
    }),
  ),
  missed_bytes: Type.Integer({ description: "Output after `after` that is no longer kept" }),
});
export type ProcessOutput = Static<typeof ProcessOutput>;
