import { Type, type TObject } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { Sandbox, SandboxPage } from "../api/schemas.ts";
import type { Bay } from "../client/index.ts";
import { EXECUTION_HISTORY_FIELDS, type CapabilityPlugin } from "../kit/capability.ts";
import { BayError } from "../shared/errors.ts";
import type { SandboxOperation } from "../shared/sandbox-operation.ts";
import type { McpSession } from "./session.ts";

const SandboxIdField = Type.Optional(
  Type.String({ description: "Sandbox to use; default: this MCP session's own sandbox, created on first use" }),
);

export interface ToolResult {
  content: { type: "text"; text: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

/** What one tools/call brings besides its arguments. */
export interface ToolCall {
  /** Aborted when the client cancels the call. */
  signal?: AbortSignal;
  /** Set when the client asked for progress: reports output as it comes. */
  progress?(message: string): void;
}

export interface Tool<S extends TObject = TObject> {
  name: string;
  description: string;
  inputSchema: S;
  /** JSON Schema of `structuredContent` on success; clients check results against it. */
  outputSchema?: TObject;
  run(args: any, session: McpSession, call: ToolCall): Promise<ToolResult>;
}

const text = (value: string, isError = false, structured?: Record<string, unknown>): ToolResult => ({
  content: [{ type: "text", text: value }],
  ...(structured ? { structuredContent: structured } : {}),
  ...(isError ? { isError: true } : {}),
});
const json = (value: Record<string, unknown>) => text(JSON.stringify(value, null, 2), false, value);
const target = (args: { sandbox_id?: string }, session: McpSession) => args.sandbox_id ?? session.defaultSandbox();

/** A progress message carries at most this much of the output: a notification, not a transcript. */
const PROGRESS_TEXT_LIMIT = 4096;

/**
 * A capability operation that names a tool, as that tool: the operation's
 * input plus an optional sandbox_id; the answer as the operation presents it
 * (or as JSON), with the whole answer as structured content. An operation
 * that streams runs as a stream, so that its output can be reported as
 * progress and a cancelled call stops the code in the sandbox.
 */
export function capabilityTools(capabilities: readonly Pick<CapabilityPlugin, "operations">[]): Tool[] {
  return capabilities.flatMap((capability) => capability.operations.filter((operation) => operation.tool).map(operationTool));
}

function operationTool(operation: SandboxOperation): Tool {
  const tool = operation.tool!;
  const { sandbox_id: _ignored, ...declared } = (operation.input as unknown as TObject).properties;
  // shipyard-neo's history fields are for its clients; a tool has no use for them.
  const properties = Object.fromEntries(Object.entries(declared).filter(([name]) => !(name in EXECUTION_HISTORY_FIELDS)));
  return {
    name: tool.name,
    description: tool.description,
    inputSchema: Type.Object({ ...properties, sandbox_id: SandboxIdField }),
    outputSchema: operation.output as unknown as TObject,
    async run(args, session, call) {
      const { sandbox_id } = args as { sandbox_id?: string };
      // Only what the operation declares goes on to Bay.
      const input = Object.fromEntries(Object.keys(properties).filter((name) => name in args).map((name) => [name, args[name]]));
      const sandboxId = await target({ sandbox_id }, session);
      const output = operation.streams
        ? await streamedOutput(session.bay, operation, sandboxId, input, call)
        : ((await session.bay.run(operation, sandboxId, input, { signal: call.signal })) as Record<string, unknown>);
      const presented = tool.present?.(output, input) ?? { text: JSON.stringify(output, null, 2) };
      return text(presented.text, presented.isError ?? false, output);
    },
  };
}

/** Runs a streaming operation, reporting its output as progress; the answer is its `done` event. */
async function streamedOutput(
  bay: Bay,
  operation: SandboxOperation,
  sandboxId: string,
  input: Record<string, unknown>,
  call: ToolCall,
): Promise<Record<string, unknown>> {
  for await (const event of bay.stream(operation, sandboxId, input, { signal: call.signal })) {
    if (event.event === "done") return event.data as Record<string, unknown>;
    if (event.event === "stdout" || event.event === "stderr") call.progress?.(event.data.text.slice(0, PROGRESS_TEXT_LIMIT));
    else if (event.event === "error" && event.data.code) throw new BayError("ship_error", event.data.message ?? "the execution failed", {});
  }
  throw new BayError("ship_error", "the execution's stream ended before its answer", {});
}

const SANDBOX_TOOLS: Tool[] = [
  {
    name: "create_sandbox",
    description: "Create a new sandbox (Python, shell and files in an isolated container). Returns its id.",
    inputSchema: Type.Object({
      profile: Type.Optional(Type.String({ description: "Profile id (default python-default)" })),
      ttl: Type.Optional(Type.Integer({ minimum: 0, description: "Seconds until it expires; 0: never" })),
    }),
    outputSchema: Sandbox as unknown as TObject,
    async run(args, session) {
      const sandbox = await session.bay.sandboxes.create(args);
      session.created.add(sandbox.id);
      return json(sandbox);
    },
  },
  {
    name: "list_sandboxes",
    description: "List your sandboxes with their status.",
    inputSchema: Type.Object({}),
    outputSchema: Type.Object({ items: SandboxPage.properties.items }),
    async run(_args, session) {
      return json({ items: await session.bay.sandboxes.listAll() });
    },
  },
  {
    name: "delete_sandbox",
    description: "Delete a sandbox and its files.",
    inputSchema: Type.Object({ sandbox_id: Type.String() }),
    async run(args, session) {
      await session.bay.sandboxes.delete(args.sandbox_id);
      session.created.delete(args.sandbox_id);
      return text(`deleted ${args.sandbox_id}`);
    },
  },
];

/** The tools of `bay mcp` and of `/mcp`: sandboxes, and every installed capability operation that names a tool. Schemas are JSON Schema (TypeBox). */
export function mcpTools(capabilities: readonly Pick<CapabilityPlugin, "operations">[]): Tool[] {
  return [...SANDBOX_TOOLS, ...capabilityTools(capabilities)];
}

/** Runs one tool call; bad arguments and Bay's refusals are tool errors the model can read, not protocol errors. */
export async function callTool(tools: readonly Tool[], name: string, args: unknown, session: McpSession, call: ToolCall = {}): Promise<ToolResult> {
  const tool = tools.find((candidate) => candidate.name === name);
  if (!tool) throw new UnknownToolError(name);
  const input = args ?? {};
  const problem = Value.Errors(tool.inputSchema, input).First();
  if (problem) return text(`invalid arguments: ${problem.path || "(root)"} ${problem.message}`, true);
  try {
    return await tool.run(input, session, call);
  } catch (error) {
    if (error instanceof BayError) return text(`${error.code}: ${error.message}`, true);
    throw error;
  }
}

export class UnknownToolError extends Error {
  constructor(readonly tool: string) {
    super(`unknown tool ${tool}`);
  }
}
