import { BayError, parseEventStream } from "../../src/kit/front-door.ts";
import { SandboxCalls, sandboxPath, workspacePath } from "./bay-calls.ts";

/**
 * E2B's code interpreter (port 49999) on Bay's Python: /execute streams a
 * cell's output as newline-delimited JSON, /contexts are Bay's Python
 * contexts. Only Python is served.
 */

/** MIME types as the code interpreter names a result's formats. */
const FORMATS: Record<string, string> = {
  "text/plain": "text",
  "text/html": "html",
  "text/markdown": "markdown",
  "image/svg+xml": "svg",
  "image/png": "png",
  "image/jpeg": "jpeg",
  "application/pdf": "pdf",
  "text/latex": "latex",
  "application/json": "json",
  "application/javascript": "javascript",
};

interface ExecuteRequest {
  code?: string;
  context_id?: string;
  language?: string;
}

/** POST /execute: one JSON object per line, in the order the cell produced them; the body ends with the cell. */
export function execute(calls: SandboxCalls, request: ExecuteRequest): Response {
  const encoder = new TextEncoder();
  const line = (message: object) => encoder.encode(`${JSON.stringify(message)}\n`);
  const aborted = new AbortController();
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      try {
        if (request.language && request.language !== "python") {
          controller.enqueue(line({ type: "error", name: "UnsupportedLanguage", value: `Bay runs Python only, not ${request.language}`, traceback: "" }));
          return;
        }
        const answer = await calls.raw("POST", "/python/exec", {
          json: { code: request.code ?? "", context_id: request.context_id || undefined, timeout: 300 },
          headers: { accept: "text/event-stream" },
        });
        for await (const event of parseEventStream(answer.body!, { signal: aborted.signal })) {
          const data = event.data as Record<string, unknown>;
          const timestamp = new Date().toISOString();
          if (event.event === "stdout" || event.event === "stderr") controller.enqueue(line({ type: event.event, text: data.text, timestamp }));
          else if (event.event === "result") controller.enqueue(line(resultLine(data.data as Record<string, string>, data.kind !== "display")));
          else if (event.event === "error" && typeof data.text === "string") controller.enqueue(line(errorLine(data.text)));
          else if (event.event === "done") {
            const count = (data.data as { execution_count?: number } | undefined)?.execution_count;
            if (typeof count === "number") controller.enqueue(line({ type: "number_of_executions", execution_count: count }));
          }
        }
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        controller.enqueue(line({ type: "error", name: "BayError", value: message, traceback: message }));
      } finally {
        if (!aborted.signal.aborted) controller.close();
      }
    },
    cancel() {
      aborted.abort();
    },
  });
  return new Response(body, { status: 200, headers: { "content-type": "application/x-ndjson" } });
}

function resultLine(bundle: Record<string, string>, main: boolean): object {
  const result: Record<string, unknown> = { type: "result", is_main_result: main };
  for (const [mime, value] of Object.entries(bundle)) {
    const format = FORMATS[mime];
    if (!format) result[mime] = value;
    else if (format === "json") result.json = parseJson(value);
    else result[format] = value;
  }
  return result;
}

/** A plain-text traceback's last line names the exception: "ZeroDivisionError: division by zero". */
function errorLine(traceback: string): object {
  const last = traceback.trimEnd().split("\n").at(-1) ?? "";
  const colon = last.indexOf(":");
  const name = colon > 0 && /^[A-Za-z_][\w.]*$/.test(last.slice(0, colon)) ? last.slice(0, colon) : "Error";
  const value = colon > 0 ? last.slice(colon + 1).trim() : last;
  return { type: "error", name, value, traceback };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

interface BayContext {
  id: string;
  cwd: string;
}

const contextShape = (context: BayContext) => ({ id: context.id, language: "python", cwd: sandboxPath(context.cwd) });

export async function createContext(calls: SandboxCalls, request: { language?: string; cwd?: string }) {
  if (request.language && request.language !== "python") {
    throw new BayError("validation_error", `Bay runs Python only, not ${request.language}`, { field: "language" });
  }
  const made = await calls.json<BayContext>("POST", "/python/contexts", { json: { cwd: request.cwd ? workspacePath(request.cwd) : undefined } });
  return contextShape(made);
}

export async function listContexts(calls: SandboxCalls) {
  const { items } = await calls.json<{ items: BayContext[] }>("GET", "/python/contexts");
  return items.map(contextShape);
}

export async function removeContext(calls: SandboxCalls, id: string) {
  await calls.json("DELETE", `/python/contexts?id=${encodeURIComponent(id)}`);
  return {};
}

export async function restartContext(calls: SandboxCalls, id: string) {
  await calls.json("POST", "/python/contexts/restart", { json: { id } });
  return {};
}
