import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError } from "@modelcontextprotocol/sdk/types.js";
import { VERSION } from "../shared/version.ts";
import type { McpSession } from "./session.ts";
import { callTool, UnknownToolError, type Tool, type ToolCall } from "./tools.ts";

const INSTRUCTIONS =
  "Bay gives you sandboxes: run_python keeps state between calls, run_shell runs commands, and the file tools work in /workspace. " +
  "Without sandbox_id, tools use this session's own sandbox.";

/**
 * Bay's MCP server for one session, on the official SDK's protocol layer
 * (any of its transports: stdio for `bay mcp`, streamable HTTP for `/mcp`).
 * The tools' schemas are Bay's TypeBox schemas as they are (JSON Schema), so
 * the low-level server is used rather than the SDK's zod-based helper.
 */
export function createMcpServer(session: McpSession, tools: readonly Tool[]): Server {
  const server = new Server({ name: "bay", version: VERSION }, { capabilities: { tools: { listChanged: false } }, instructions: INSTRUCTIONS });
  const listed = tools.map((tool) => ({
    name: tool.name,
    description: tool.description,
    inputSchema: jsonSchema(tool.inputSchema),
    ...(tool.outputSchema ? { outputSchema: jsonSchema(tool.outputSchema) } : {}),
  }));
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: listed as never }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const token = request.params._meta?.progressToken;
    let progress = 0;
    const call: ToolCall = {
      signal: extra.signal,
      progress:
        token === undefined
          ? undefined
          : (message) => {
              void extra
                .sendNotification({ method: "notifications/progress", params: { progressToken: token, progress: ++progress, message } })
                .catch(() => undefined);
            },
    };
    try {
      return (await session.during(() => callTool(tools, request.params.name, request.params.arguments, session, call))) as never;
    } catch (error) {
      if (error instanceof UnknownToolError) throw new McpError(ErrorCode.InvalidParams, error.message);
      throw error;
    }
  });
  return server;
}

/** A TypeBox schema as plain JSON Schema: its symbol-keyed markers stay behind. */
function jsonSchema(schema: object): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
}
