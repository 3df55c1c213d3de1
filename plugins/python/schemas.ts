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
    context_id: Type.Optional(
      Type.String({ pattern: "^(default|ctx-[0-9a-f]{12})$", description: "A context made with …/python/contexts; default: the sandbox's own kernel" }),
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
    results: Type.Optional(
      Type.Array(
        Type.Object({
          kind: Type.Union([Type.Literal("result"), Type.Literal("display")], { description: "result: the cell's value; display: display() calls and figures" }),
          data: Type.Record(Type.String(), Type.String(), {
            description: "MIME bundle: text/plain, text/html, text/markdown, image/svg+xml, image/png and image/jpeg (base64), application/json (JSON text), text/latex",
          }),
        }),
        { description: "Every rich output in order, within the output byte limit" },
      ),
    ),
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

/** Contexts a sandbox may hold at once, the default one included. */
export const MAX_PYTHON_CONTEXTS = 16;

export const PythonContext = Type.Object({
  id: Type.String({ description: "default, or ctx-… for one made here" }),
  cwd: Type.String({ description: "Working directory, relative to /workspace" }),
  created_at: Type.String({ format: "date-time" }),
});
export type PythonContext = Static<typeof PythonContext>;
export const PythonContextList = Type.Object({ items: Type.Array(PythonContext) });
export const CreateContextRequest = Type.Object(
  { cwd: Type.Optional(Type.String({ description: "Working directory relative to /workspace (default: /workspace); made if missing" })) },
  { additionalProperties: false },
);
export const ContextSelector = Type.Object({ id: Type.String({ pattern: "^(default|ctx-[0-9a-f]{12})$" }) }, { additionalProperties: false });
export const NoInput = Type.Object({}, { additionalProperties: false });
export const StatusOk = Type.Object({ status: Type.Literal("ok") });
