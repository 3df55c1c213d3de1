import { existsSync, statSync } from "node:fs";
import { BayError, OutputBuffer, Workspace, executionResponse, handle, type AgentCapabilityFactory } from "../../src/kit/agent.ts";
import { runInProcessGroup } from "./process-group.ts";
import { SHELL_EXEC } from "./routes.ts";
import { SHELL_DEFAULT_TIMEOUT_SECONDS, type ShellExecOutcome } from "./schemas.ts";

const SHELLS = ["/bin/bash", "/bin/sh"];

const createShellAgent: AgentCapabilityFactory = async (context) => {
  const shell = SHELLS.find((path) => existsSync(path));
  if (!shell) return null;
  const workspace = new Workspace(context.workspace);

  return {
    info: { shell },
    handlers: [
      handle(SHELL_EXEC, async (body, request) => {
        const cwd = workspace.resolve(body.cwd ?? ".", "cwd");
        if (!existsSync(cwd.real)) throw new BayError("file_not_found", `cwd ${cwd.relative} does not exist`, { field: "cwd", path: cwd.relative });
        if (!statSync(cwd.real).isDirectory()) throw new BayError("validation_error", `cwd ${cwd.relative} is not a directory`, { field: "cwd" });
        const timeoutSeconds = body.timeout ?? SHELL_DEFAULT_TIMEOUT_SECONDS;

        return executionResponse(request, async (emit, signal) => {
          const stdout = new OutputBuffer(context.maxOutputBytes);
          const stderr = new OutputBuffer(context.maxOutputBytes);
          const started = performance.now();
          const run = await runInProcessGroup({
            shell,
            command: body.command,
            cwd: cwd.real,
            env: { ...context.env, ...body.env },
            timeoutMs: timeoutSeconds * 1000,
            signal,
            onOutput: (stream, text) => {
              (stream === "stdout" ? stdout : stderr).append(text);
              emit(stream, { text });
            },
          });
          if (run.timedOut) {
            const note = `command timed out after ${timeoutSeconds} s; its process group was killed\n`;
            stderr.append(note);
            emit("error", { text: note });
          }
          const outcome: ShellExecOutcome = {
            success: run.exitCode === 0,
            output: stdout.toString(),
            error: stderr.toString(),
            exit_code: run.exitCode,
            execution_time_ms: Math.round(performance.now() - started),
            ...(stdout.truncated || stderr.truncated ? { truncated: true } : {}),
          };
          return outcome;
        });
      }),
    ],
    close: async () => undefined,
  };
};

export default createShellAgent;
