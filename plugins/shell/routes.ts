import { agentRoute } from "../../src/kit/capability.ts";
import { ShellExecOutcome, ShellExecRequest } from "./schemas.ts";

/** The agent's routes for the shell, used by both halves. */
export const SHELL_EXEC = agentRoute("POST", "/shell/exec", { input: ShellExecRequest, answer: ShellExecOutcome });
