import { sandboxOperation } from "../../src/kit/capability.ts";
import { PythonExecRequest, PythonExecResponse } from "./schemas.ts";

/** What clients can do with Python, over the API, the SDK, `bay mcp` and `bay call`. */
export const PYTHON_EXEC_OPERATION = sandboxOperation({
  name: "python.exec",
  method: "POST",
  path: "/python/exec",
  input: PythonExecRequest,
  output: PythonExecResponse,
  summary: "Run Python in the sandbox's persistent kernel",
  streams: true,
  tool: {
    name: "run_python",
    description:
      "Run Python in a persistent kernel (variables survive between calls). Returns printed output and the last expression's value.",
    present: (result) => ({ text: result.success ? result.output : `${result.output}${result.error ?? ""}`, isError: !result.success }),
  },
});

export const PYTHON_OPERATIONS = [PYTHON_EXEC_OPERATION];
