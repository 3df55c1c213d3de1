import { Type, type Static } from "@sinclair/typebox";
import { EXECUTION_HISTORY_FIELDS } from "../../src/kit/capability.ts";

export const SHELL_DEFAULT_TIMEOUT_SECONDS = 30;

/** What a shell accepts as a variable name. */
export const ENVIRONMENT_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

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
