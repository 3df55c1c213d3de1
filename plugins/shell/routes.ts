import { agentRoute } from "../../src/kit/capability.ts";
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
  ProcessStreamQuery,
  ProcessWaitRequest,
  ShellExecOutcome,
  ShellExecRequest,
  StatusOk,
} from "./schemas.ts";

/** The agent's routes for the shell, used by both halves. */
export const SHELL_EXEC = agentRoute("POST", "/shell/exec", { input: ShellExecRequest, answer: ShellExecOutcome });

export const PROCESS_START = agentRoute("POST", "/shell/processes/start", { input: ProcessStartRequest, answer: ProcessInfo });
export const PROCESS_LIST = agentRoute("POST", "/shell/processes/list", { input: NoInput, answer: ProcessList });
export const PROCESS_STATUS = agentRoute("POST", "/shell/processes/status", { input: ProcessSelector, answer: ProcessInfo });
export const PROCESS_STDIN = agentRoute("POST", "/shell/processes/stdin", { input: ProcessStdinRequest, answer: StatusOk });
export const PROCESS_CLOSE_STDIN = agentRoute("POST", "/shell/processes/close_stdin", { input: ProcessSelector, answer: StatusOk });
export const PROCESS_SIGNAL = agentRoute("POST", "/shell/processes/signal", { input: ProcessSignalRequest, answer: StatusOk });
export const PROCESS_RESIZE = agentRoute("POST", "/shell/processes/resize", { input: ProcessResizeRequest, answer: StatusOk });
export const PROCESS_WAIT = agentRoute("POST", "/shell/processes/wait", { input: ProcessWaitRequest, answer: ProcessInfo });
/** Answers an event stream: the output kept after `after`, then live output, then `exit`. */
export const PROCESS_STREAM = agentRoute("GET", "/shell/processes/stream", { input: ProcessStreamQuery, answer: undefined });
export const PROCESS_OUTPUT = agentRoute("POST", "/shell/processes/output", { input: ProcessOutputQuery, answer: ProcessOutput });
