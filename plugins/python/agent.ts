import { OutputBuffer, Workspace, executionResponse, handle, spawnSyncAsSandboxUser, type AgentCapabilityFactory } from "../../src/kit/agent.ts";
import { PythonContexts } from "./contexts.ts";
import { CONTEXT_CREATE, CONTEXT_DELETE, CONTEXT_LIST, CONTEXT_RESTART, PYTHON_EXEC } from "./routes.ts";
import { PYTHON_DEFAULT_TIMEOUT_SECONDS, type PythonExecOutcome } from "./schemas.ts";

const createPythonAgent: AgentCapabilityFactory = async (context) => {
  const contexts = new PythonContexts(new Workspace(context.workspace), context.env);
  // Started eagerly so that the first exec does not pay for interpreter start-up. The kernel says which Python
  // it runs; only when it fails to start is Python probed apart (one interpreter start less on every cold start).
  const ready = await startedKernel(contexts);
  const version = ready?.python ?? detectPython(context.env);
  if (!version) return null;
  const executor = ready?.executor ?? "python";

  return {
    info: { version, executor },
    handlers: [
      handle(PYTHON_EXEC, async (body, request) => {
        const timeoutMs = (body.timeout ?? PYTHON_DEFAULT_TIMEOUT_SECONDS) * 1000;
        const kernel = contexts.kernel(body.context_id);
        return executionResponse(request, async (emit, signal) => {
          const started = performance.now();
          const output = new OutputBuffer(context.maxOutputBytes);
          const images = new ImageCollector(context.maxOutputBytes);
          const results = new ResultCollector(context.maxOutputBytes);
          const outcome = await kernel.execute(body.code, timeoutMs, (event) => {
            if (event.type === "stream") {
              output.append(event.text);
              emit(event.name, { text: event.text });
              return;
            }
            if (event.type === "result" && event.data["text/plain"] !== undefined) output.append(`${event.data["text/plain"]}\n`);
            if (event.data["image/png"]) images.add(event.data["image/png"]);
            results.add(event.type, event.data);
            emit("result", { data: event.data, kind: event.type });
          }, signal);
          if (outcome.error) emit("error", { text: outcome.error });
          const text = output.toString();
          const error = outcome.error === null ? null : cappedText(outcome.error, context.maxOutputBytes);
          const truncated = output.truncated || images.truncated || results.truncated || (error !== null && error !== outcome.error);
          const response: PythonExecOutcome = {
            success: outcome.success,
            output: text,
            error,
            data: { execution_count: outcome.executionCount, output: { text, images: images.list }, results: results.list },
            execution_time_ms: Math.round(performance.now() - started),
            ...(truncated ? { truncated: true } : {}),
            ...(outcome.stateLost ? { kernel_restarted: true } : {}),
          };
          return response;
        });
      }),
      handle(CONTEXT_CREATE, async (body) => contexts.create(body.cwd)),
      handle(CONTEXT_LIST, async () => ({ items: contexts.list() })),
      handle(CONTEXT_RESTART, async (body) => contexts.restart(body.id)),
      handle(CONTEXT_DELETE, async (body) => {
        await contexts.delete(body.id);
        return { status: "ok" as const };
      }),
    ],
    close: () => contexts.closeAll(),
  };
};

/** Images share one byte budget, like any other output field; those past it are dropped. */
class ImageCollector {
  readonly list: Record<string, string>[] = [];
  truncated = false;
  private bytes = 0;

  constructor(private readonly limitBytes: number) {}

  add(png: string): void {
    if (this.bytes + png.length > this.limitBytes) {
      this.truncated = true;
      return;
    }
    this.bytes += png.length;
    this.list.push({ "image/png": png });
  }
}

/** Rich outputs (MIME bundles) in order, within one byte budget; those past it are dropped. */
class ResultCollector {
  readonly list: { kind: "result" | "display"; data: Record<string, string> }[] = [];
  truncated = false;
  private bytes = 0;

  constructor(private readonly limitBytes: number) {}

  add(kind: "result" | "display", data: Record<string, string>): void {
    const size = Object.values(data).reduce((total, value) => total + value.length, 0);
    if (this.bytes + size > this.limitBytes) {
      this.truncated = true;
      return;
    }
    this.bytes += size;
    this.list.push({ kind, data });
  }
}

function cappedText(text: string, limitBytes: number): string {
  const buffer = new OutputBuffer(limitBytes);
  buffer.append(text);
  return buffer.toString();
}

/** The default kernel's start; null when it cannot start (no python3: the spawn itself throws). */
async function startedKernel(contexts: PythonContexts) {
  try {
    return await contexts.default.start();
  } catch {
    return null;
  }
}

function detectPython(env: Record<string, string>): string | null {
  try {
    const probe = spawnSyncAsSandboxUser(["python3", "-c", "import sys; print(sys.version.split()[0])"], { env });
    return probe.exitCode === 0 ? probe.stdout.toString().trim() : null;
  } catch {
    return null;
  }
}

export default createPythonAgent;
