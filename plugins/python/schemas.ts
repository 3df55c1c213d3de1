import { Type, type Static } from "@sinclair/typebox";
import { EXECUTION_HISTORY_FIELDS } from "../../src/kit/capability.ts";

export const PYTHON_DEFAULT_TIMEOUT_SECONDS = 30;

/** One source for Bay's validation, the agent's re-check and the OpenAPI document. */
export const PythonExecRequest = Type.Object(
  {
    code: Type.String({ description: "Python source; state persists between calls of one session" }),
    timeout: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 300,
        default: PYTHON_DEFAULT_TIMEOUT_SECONDS,
        description: "Seconds before the code is interrupted",
      }),
    ),
    ...EXECUTION_HISTORY_FIELDS,
  },
  { additionalProperties: false },
);
export type PythonExecRequest = Static<typeof PythonExecRequest>;

/** What the agent's /ipython/exec answers; Bay adds the execution id. */
export const PythonExecOutcome = Type.Object({
  success: Type.Boolean(),
  output: Type.String({ description: "stdout and stderr as printed, then the value of a trailing expression" }),
  error: Type.Union([Type.String(), Type.Null()], { description: "Plain-text traceback or timeout message" }),
  data: Type.Object({
    execution_count: Type.Union([Type.Integer(), Type.Null()]),
    output: Type.Object({
      text: Type.String(),
      images: Type.Array(Type.Record(Type.String(), Type.String()), { description: "[{\"image/png\": base64}]" }),
    }),
  }),
  execution_time_ms: Type.Integer(),
  truncated: Type.Optional(Type.Boolean()),
  kernel_restarted: Type.Optional(Type.Boolean({ description: "true when the kernel died and its state was lost" })),
});
export type PythonExecOutcome = Static<typeof PythonExecOutcome>;

export const PythonExecResponse = Type.Composite([
  PythonExecOutcome,
  Type.Object({
    execution_id: Type.String({ pattern: "^exec-[0-9a-f]{12}$" }),
    code: Type.Optional(Type.String({ description: "The code, when the request set include_code" })),
  }),
]);
