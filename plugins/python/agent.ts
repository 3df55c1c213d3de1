import { OutputBuffer } from "../../src/ship/output-buffer.ts";
import { jsonResponse, readBody } from "../../src/ship/http.ts";
import type { AgentCapabilityFactory } from "../../src/ship/capability.ts";
import { PythonKernel } from "./kernel.ts";
import { PYTHON_DEFAULT_TIMEOUT_SECONDS, PythonExecRequest, type PythonExecOutcome } from "./schemas.ts";

const createPythonAgent: AgentCapabilityFactory = async (context) => {
  const version = detectPython(context.env);
  if (!version) return null;
  const kernel = new PythonKernel({ cwd: context.workspace, env: context.env });
  // Started eagerly so that the first exec does not pay for interpreter start-up.
  const ready = kernel.start();
  const executor = await ready.then((info) => info.executor).catch(() => "python");

  return {
    info: { version, executor },
    routes: {
      "POST /ipython/exec": async (request) => {
        const body = await readBody(request, PythonExecRequest);
        const started = performance.now();
        const output = new OutputBuffer(context.maxOutputBytes);
        const images: Record<string, string>[] = [];
        const timeoutMs = (body.timeout ?? PYTHON_DEFAULT_TIMEOUT_SECONDS) * 1000;
        const outcome = await kernel.execute(body.code, timeoutMs, (event) => {
          if (event.type === "stream") output.append(event.text);
          if (event.type === "result" || event.type === "display") {
            if (event.type === "result" && event.data["text/plain"] !== undefined) output.append(`${event.data["text/plain"]}\n`);
            if (event.data["image/png"]) images.push({ "image/png": event.data["image/png"] });
          }
        });
        const text = output.toString();
        const response: PythonExecOutcome = {
          success: outcome.success,
          output: text,
          error: outcome.error,
          data: { execution_count: outcome.executionCount, output: { text, images } },
          execution_time_ms: Math.round(performance.now() - started),
          ...(output.truncated ? { truncated: true } : {}),
          ...(outcome.stateLost ? { kernel_restarted: true } : {}),
        };
        return jsonResponse(response);
      },
    },
    close: () => kernel.close(),
  };
};

function detectPython(env: Record<string, string>): string | null {
  try {
    const probe = Bun.spawnSync(["python3", "-c", "import sys; print(sys.version.split()[0])"], { env });
    return probe.exitCode === 0 ? probe.stdout.toString().trim() : null;
  } catch {
    return null;
  }
}

export default createPythonAgent;
