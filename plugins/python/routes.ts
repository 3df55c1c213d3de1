import { agentRoute } from "../../src/kit/capability.ts";
import { PythonExecOutcome, PythonExecRequest } from "./schemas.ts";

/** The agent's routes for Python, used by both halves. */
export const PYTHON_EXEC = agentRoute("POST", "/ipython/exec", { input: PythonExecRequest, answer: PythonExecOutcome });
