import { sandboxOperation } from "../../src/kit/capability.ts";
import {
  NoInput,
  ProcessInfo,
  ProcessList,
  ProcessOutput,
  ProcessOutputQuery,
  ProcessResizeRequest,
  ProcessSelector,
  ProcessSignalRequest,
  ProcessStartRequest,
  ProcessStdinRequest,
  ProcessWaitRequest,
  ShellExecRequest,
  ShellExecResponse,
  StatusOk,
} from "./schemas.ts";

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

export const PROCESS_START_OPERATION = sandboxOperation({
  name: "shell.process.start",
  method: "POST",
  path: "/processes",
  input: ProcessStartRequest,
  output: ProcessInfo,
  summary: "Start a command in the background (optionally in a terminal); answers its pid at once",
  tool: {
    name: "start_process",
    description:
      "Start a long-running command in the background of the sandbox (a server, a watcher, a build). Answers its pid; " +
      "read its output with process_output and stop it with signal_process.",
    present: (process) => ({ text: `started pid ${process.pid}: ${process.command}` }),
  },
});

export const PROCESS_LIST_OPERATION = sandboxOperation({
  name: "shell.process.list",
  method: "GET",
  path: "/processes",
  input: NoInput,
  output: ProcessList,
  summary: "List the background processes: running ones and the last finished ones",
  safeToRepeat: true,
});

export const PROCESS_GET_OPERATION = sandboxOperation({
  name: "shell.process.get",
  method: "GET",
  path: "/processes/status",
  input: ProcessSelector,
  output: ProcessInfo,
  summary: "One background process: running or not, its exit code",
  safeToRepeat: true,
});

export const PROCESS_OUTPUT_OPERATION = sandboxOperation({
  name: "shell.process.output",
  method: "GET",
  path: "/processes/output",
  input: ProcessOutputQuery,
  output: ProcessOutput,
  summary: "A process's output kept so far (after `after`), and its state; …/processes/stream follows it live",
  safeToRepeat: true,
  tool: {
    name: "process_output",
    description: "Read what a background process of the sandbox printed so far, and whether it still runs. Pass `after` (the last seq read) to get only new output.",
    present: (output) => ({
      text:
        output.chunks.map((chunk) => chunk.data).join("") +
        `\n[pid ${output.process.pid} ${output.process.running ? "running" : `exited with ${output.process.exit_code}`}; last seq ${output.chunks.at(-1)?.seq ?? "none"}]`,
    }),
  },
});

export const PROCESS_STDIN_OPERATION = sandboxOperation({
  name: "shell.process.stdin",
  method: "POST",
  path: "/processes/stdin",
  input: ProcessStdinRequest,
  output: StatusOk,
  summary: "Write to a process's stdin (its terminal's input, for a pty)",
});

export const PROCESS_CLOSE_STDIN_OPERATION = sandboxOperation({
  name: "shell.process.close_stdin",
  method: "POST",
  path: "/processes/close-stdin",
  input: ProcessSelector,
  output: StatusOk,
  summary: "Close a process's stdin: it reads end of file",
  safeToRepeat: true,
});

export const PROCESS_SIGNAL_OPERATION = sandboxOperation({
  name: "shell.process.signal",
  method: "POST",
  path: "/processes/signal",
  input: ProcessSignalRequest,
  output: StatusOk,
  summary: "Send a signal to a process and everything it started (its process group)",
  tool: {
    name: "signal_process",
    description: "Send a signal (SIGTERM to stop, SIGKILL to force, SIGINT like Ctrl-C) to a background process of the sandbox.",
    present: (_, input) => ({ text: `sent ${input.signal} to pid ${input.pid}` }),
  },
});

export const PROCESS_RESIZE_OPERATION = sandboxOperation({
  name: "shell.process.resize",
  method: "POST",
  path: "/processes/resize",
  input: ProcessResizeRequest,
  output: StatusOk,
  summary: "Resize a process's terminal",
  safeToRepeat: true,
});

export const PROCESS_WAIT_OPERATION = sandboxOperation({
  name: "shell.process.wait",
  method: "POST",
  path: "/processes/wait",
  input: ProcessWaitRequest,
  output: ProcessInfo,
  summary: "Wait (at most `timeout` seconds) for a process to exit; answers its state either way",
  safeToRepeat: true,
});

export const SHELL_OPERATIONS = [
  SHELL_EXEC_OPERATION,
  PROCESS_START_OPERATION,
  PROCESS_LIST_OPERATION,
  PROCESS_GET_OPERATION,
  PROCESS_OUTPUT_OPERATION,
  PROCESS_STDIN_OPERATION,
  PROCESS_CLOSE_STDIN_OPERATION,
  PROCESS_SIGNAL_OPERATION,
  PROCESS_RESIZE_OPERATION,
  PROCESS_WAIT_OPERATION,
];
