import { existsSync, statSync } from "node:fs";
import { BayError } from "../../src/shared/errors.ts";
import type { AgentCapabilityFactory } from "../../src/agent/capability.ts";
import { executionResponse } from "../../src/agent/execution.ts";
import { readBody } from "../../src/agent/http.ts";
import { OutputBuffer } from "../../src/agent/output-buffer.ts";
import { Workspace } from "../../src/agent/workspace.ts";
import { runInProcessGroup } from "./process-group.ts";
import { SHELL_DEFAULT_TIMEOUT_SECONDS, ShellExecRequest, type ShellExecOutcome } from "./schemas.ts";

const SHELLS = ["/bin/bash", "/bin/sh"];

const createShellAgent: AgentCapabilityFactory = async (context) => {
  const shell = SHELLS.find((path) => existsSync(path));
  if (!shell) return null;
  const workspace = new Workspace(context.workspace);

  return {
    info: { shell },
    routes: {
      "POST /shell/exec": async (request) => {
        const body = await readBody(request, ShellExecRequest);
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
      },
    },
    close: async () => undefined,
  };
};

export default createShellAgent;
