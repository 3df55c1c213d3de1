import { sandboxOperation } from "../../src/kit/capability.ts";
import { ShellExecRequest, ShellExecResponse } from "./schemas.ts";

/** What clients can do with the shell, over the API, the SDK, `bay mcp` and `bay call`. */
export const SHELL_EXEC_OPERATION = sandboxOperation({
  name: "shell.exec",
  method: "POST",
  path: "/shell/exec",
  input: ShellExecRequest,
  output: ShellExecResponse,
  summary: "Run a shell command in the sandbox",
  streams: true,
  tool: {
    name: "run_shell",
    description: "Run a shell command in the sandbox's /workspace. Returns stdout, stderr and the exit code.",
    present: (result) => ({
      text: `${result.output}${result.error ? `${result.output ? "\n" : ""}[stderr]\n${result.error}` : ""}\n[exit code ${result.exit_code}]`,
      isError: !result.success,
    }),
  },
});

export const SHELL_OPERATIONS = [SHELL_EXEC_OPERATION];
