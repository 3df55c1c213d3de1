import { agentRoute } from "../../src/kit/capability.ts";
import {
  ContextSelector,
  CreateContextRequest,
  NoInput,
  PythonContext,
  PythonContextList,
  PythonExecOutcome,
  PythonExecRequest,
  StatusOk,
} from "./schemas.ts";

/** The agent's routes for Python, used by both halves. */
export const PYTHON_EXEC = agentRoute("POST", "/ipython/exec", { input: PythonExecRequest, answer: PythonExecOutcome });
export const CONTEXT_CREATE = agentRoute("POST", "/ipython/contexts/create", { input: CreateContextRequest, answer: PythonContext });
export const CONTEXT_LIST = agentRoute("POST", "/ipython/contexts/list", { input: NoInput, answer: PythonContextList });
export const CONTEXT_RESTART = agentRoute("POST", "/ipython/contexts/restart", { input: ContextSelector, answer: PythonContext });
export const CONTEXT_DELETE = agentRoute("POST", "/ipython/contexts/delete", { input: ContextSelector, answer: StatusOk });
