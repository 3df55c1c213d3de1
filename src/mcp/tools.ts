import { Type, type TObject } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import type { Bay } from "../client/index.ts";
import { BayError } from "../shared/errors.ts";

const SandboxIdField = Type.Optional(
  Type.String({ description: "Sandbox to use; default: this MCP session's own sandbox, created on first use" }),
);
const Timeout = Type.Optional(Type.Integer({ minimum: 1, maximum: 300, description: "Seconds (default 30)" }));

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

/** The tools `bay mcp` offers; their input schemas are JSON Schema (TypeBox). */
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
  {
    name: "run_python",
    description: "Run Python in a persistent kernel (variables survive between calls). Returns printed output and the last expression's value.",
    inputSchema: Type.Object({ code: Type.String(), timeout: Timeout, sandbox_id: SandboxIdField }),
    async run(args, context) {
      const result = await context.bay.python.exec(await target(args, context), { code: args.code, timeout: args.timeout });
      return text(result.success ? result.output : `${result.output}${result.error ?? ""}`, !result.success, result);
    },
  },
  {
    name: "run_shell",
    description: "Run a shell command in the sandbox's /workspace. Returns stdout, stderr and the exit code.",
    inputSchema: Type.Object({
      command: Type.String(),
      timeout: Timeout,
      cwd: Type.Optional(Type.String({ description: "Relative to /workspace" })),
      sandbox_id: SandboxIdField,
    }),
    async run(args, context) {
      const result = await context.bay.shell.exec(await target(args, context), { command: args.command, timeout: args.timeout, cwd: args.cwd });
      const body = `${result.output}${result.error ? `${result.output ? "\n" : ""}[stderr]\n${result.error}` : ""}\n[exit code ${result.exit_code}]`;
      return text(body, !result.success, result);
    },
  },
  {
    name: "read_file",
    description: "Read a UTF-8 text file from the sandbox (path relative to /workspace).",
    inputSchema: Type.Object({ path: Type.String(), sandbox_id: SandboxIdField }),
    async run(args, context) {
      return text(await context.bay.files.read(await target(args, context), args.path));
    },
  },
  {
    name: "write_file",
    description: "Write a UTF-8 text file into the sandbox (path relative to /workspace; parent directories are created).",
    inputSchema: Type.Object({ path: Type.String(), content: Type.String(), sandbox_id: SandboxIdField }),
    async run(args, context) {
      await context.bay.files.write(await target(args, context), args.path, args.content);
      return text(`wrote ${args.path}`);
    },
  },
  {
    name: "list_files",
    description: "List a directory of the sandbox (path relative to /workspace, default the workspace itself).",
    inputSchema: Type.Object({ path: Type.Optional(Type.String()), sandbox_id: SandboxIdField }),
    async run(args, context) {
      const entries = await context.bay.files.list(await target(args, context), args.path ?? ".");
      return json({ entries });
    },
  },
];

/** Runs one tool call; bad arguments and Bay's refusals are tool errors the model can read, not protocol errors. */
export async function callTool(name: string, args: unknown, context: ToolContext): Promise<ToolResult> {
  const tool = TOOLS.find((candidate) => candidate.name === name);
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
