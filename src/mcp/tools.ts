import { Type, type TObject } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import type { Bay } from "../client/index.ts";
import { CAPABILITIES } from "../composition/registry.ts";
import { EXECUTION_HISTORY_FIELDS, type CapabilityPlugin } from "../kit/capability.ts";
import { BayError } from "../shared/errors.ts";
import type { SandboxOperation } from "../shared/sandbox-operation.ts";

const SandboxIdField = Type.Optional(
  Type.String({ description: "Sandbox to use; default: this MCP session's own sandbox, created on first use" }),
);

export interface ToolResult {
  content: { type: "text"; text: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

export interface Tool<S extends TObject = TObject> {
  name: string;
  description: string;
  inputSchema: S;
  run(args: any, context: ToolContext): Promise<ToolResult>;
}

export interface ToolContext {
  bay: Bay;
  /** The session's default sandbox, created on first need. */
  defaultSandbox(): Promise<string>;
  /** Sandboxes this MCP session created, removed when it ends. */
  created: Set<string>;
}

const text = (value: string, isError = false, structured?: Record<string, unknown>): ToolResult => ({
  content: [{ type: "text", text: value }],
  ...(structured ? { structuredContent: structured } : {}),
  ...(isError ? { isError: true } : {}),
});
const json = (value: Record<string, unknown>) => text(JSON.stringify(value, null, 2), false, value);
const target = (args: { sandbox_id?: string }, context: ToolContext) => args.sandbox_id ?? context.defaultSandbox();

/**
 * A capability operation that names a tool, as that tool: the operation's
 * input plus an optional sandbox_id; the answer as the operation presents it
 * (or as JSON), with the whole answer as structured content.
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
    async run(args, context) {
      const { sandbox_id } = args as { sandbox_id?: string };
      // Only what the operation declares goes on to Bay.
      const input = Object.fromEntries(Object.keys(properties).filter((name) => name in args).map((name) => [name, args[name]]));
      const output = (await context.bay.run(operation, await target({ sandbox_id }, context), input)) as Record<string, unknown>;
      const presented = tool.present?.(output, input) ?? { text: JSON.stringify(output, null, 2) };
      return text(presented.text, presented.isError ?? false, output);
    },
  };
}

/** The tools `bay mcp` offers: sandboxes, and every installed capability operation that names a tool. Input schemas are JSON Schema (TypeBox). */
export const TOOLS: Tool[] = [
  {
    name: "create_sandbox",
    description: "Create a new sandbox (Python, shell and files in an isolated container). Returns its id.",
    inputSchema: Type.Object({
      profile: Type.Optional(Type.String({ description: "Profile id (default python-default)" })),
      ttl: Type.Optional(Type.Integer({ minimum: 0, description: "Seconds until it expires; 0: never" })),
    }),
    async run(args, context) {
      const sandbox = await context.bay.sandboxes.create(args);
      context.created.add(sandbox.id);
      return json(sandbox);
    },
  },
  {
    name: "list_sandboxes",
    description: "List your sandboxes with their status.",
    inputSchema: Type.Object({}),
    async run(_args, context) {
      return json({ items: await context.bay.sandboxes.listAll() });
    },
  },
  {
    name: "delete_sandbox",
    description: "Delete a sandbox and its files.",
    inputSchema: Type.Object({ sandbox_id: Type.String() }),
    async run(args, context) {
      await context.bay.sandboxes.delete(args.sandbox_id);
      context.created.delete(args.sandbox_id);
      return text(`deleted ${args.sandbox_id}`);
    },
  },
  ...capabilityTools(CAPABILITIES),
];

/** Runs one tool call; bad arguments and Bay's refusals are tool errors the model can read, not protocol errors. */
export async function callTool(name: string, args: unknown, context: ToolContext, tools: readonly Tool[] = TOOLS): Promise<ToolResult> {
  const tool = tools.find((candidate) => candidate.name === name);
  if (!tool) throw new UnknownToolError(name);
  const input = args ?? {};
  const problem = Value.Errors(tool.inputSchema, input).First();
  if (problem) return text(`invalid arguments: ${problem.path || "(root)"} ${problem.message}`, true);
  try {
    return await tool.run(input, context);
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
