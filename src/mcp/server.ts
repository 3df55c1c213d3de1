import type { Bay } from "../client/index.ts";
import { VERSION } from "../shared/version.ts";
import { callTool, TOOLS, UnknownToolError, type ToolContext } from "./tools.ts";

/** Protocol versions this server speaks, newest first. */
export const PROTOCOL_VERSIONS = ["2025-06-18", "2025-03-26", "2024-11-05"];

interface JsonRpcMessage {
  jsonrpc: "2.0";
  id?: string | number | null;
  method?: string;
  params?: Record<string, any>;
}

const ERROR = { parse: -32700, invalidRequest: -32600, methodNotFound: -32601, invalidParams: -32602, internal: -32603 };

/**
 * The Model Context Protocol over stdio: newline-delimited JSON-RPC 2.0 on
 * stdin/stdout. Each MCP session gets one default sandbox, created on the
 * first tool call that needs it and deleted when the session ends.
 */
export class McpServer {
  private readonly context: ToolContext;
  private defaultSandboxId: Promise<string> | null = null;

  constructor(
    private readonly bay: Bay,
    private readonly write: (line: string) => void,
  ) {
    const created = new Set<string>();
    this.context = {
      bay,
      created,
      defaultSandbox: () => {
        this.defaultSandboxId ??= bay.sandboxes.create({}).then((sandbox) => {
          created.add(sandbox.id);
          return sandbox.id;
        });
        return this.defaultSandboxId;
      },
    };
  }

  /** Handles one line of input; answers requests, ignores notifications. */
  async handleLine(line: string): Promise<void> {
    if (!line.trim()) return;
    let message: JsonRpcMessage;
    try {
      message = JSON.parse(line) as JsonRpcMessage;
    } catch {
      this.reply(null, undefined, { code: ERROR.parse, message: "invalid JSON" });
      return;
    }
    if (typeof message.method !== "string") {
      if (message.id !== undefined) this.reply(message.id, undefined, { code: ERROR.invalidRequest, message: "no method" });
      return;
    }
    const isRequest = message.id !== undefined && message.id !== null;
    try {
      const result = await this.dispatch(message.method, message.params ?? {});
      if (isRequest) this.reply(message.id!, result);
    } catch (error) {
      if (!isRequest) return;
      if (error instanceof UnknownToolError) this.reply(message.id!, undefined, { code: ERROR.invalidParams, message: error.message });
      else if (error instanceof MethodNotFound) this.reply(message.id!, undefined, { code: ERROR.methodNotFound, message: error.message });
      else this.reply(message.id!, undefined, { code: ERROR.internal, message: (error as Error).message });
    }
  }

  /** Removes the sandboxes this session created. */
  async close(): Promise<void> {
    await Promise.all([...this.context.created].map((id) => this.bay.sandboxes.delete(id).catch(() => undefined)));
    this.context.created.clear();
  }

  private async dispatch(method: string, params: Record<string, any>): Promise<unknown> {
    switch (method) {
      case "initialize": {
        const requested = String(params.protocolVersion ?? "");
        return {
          protocolVersion: PROTOCOL_VERSIONS.includes(requested) ? requested : PROTOCOL_VERSIONS[0],
          capabilities: { tools: { listChanged: false } },
          serverInfo: { name: "bay", version: VERSION },
          instructions:
            "Bay gives you sandboxes: run_python keeps state between calls, run_shell runs commands, and the file tools work in /workspace. Without sandbox_id, tools use this session's own sandbox.",
        };
      }
      case "ping":
        return {};
      case "tools/list":
        return { tools: TOOLS.map((tool) => ({ name: tool.name, description: tool.description, inputSchema: tool.inputSchema })) };
      case "tools/call":
        return callTool(String(params.name), params.arguments, this.context);
      default:
        if (method.startsWith("notifications/")) return undefined;
        throw new MethodNotFound(method);
    }
  }

  private reply(id: string | number | null, result?: unknown, error?: { code: number; message: string }): void {
    this.write(`${JSON.stringify(error ? { jsonrpc: "2.0", id, error } : { jsonrpc: "2.0", id, result })}\n`);
  }
}

class MethodNotFound extends Error {
  constructor(method: string) {
    super(`method not found: ${method}`);
  }
}
