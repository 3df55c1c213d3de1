import { defineCommand } from "citty";
import { consola } from "consola";
import { coreConfigArgs } from "./config-args.ts";
import { connect, connectionArgs } from "./connection.ts";

export default defineCommand({
  meta: {
    name: "mcp",
    description: "Serve the Model Context Protocol over stdio (tools for sandboxes, Python, shell and files; bay serve also serves it over HTTP at /mcp)",
  },
  args: { ...connectionArgs, ...coreConfigArgs },
  async run({ args }) {
    // stdout carries protocol messages only; every log line goes to stderr.
    consola.options.stdout = process.stderr;
    const [{ StdioServerTransport }, { createMcpServer }, { McpSession }, { mcpTools }, { CAPABILITIES }] = await Promise.all([
      import("@modelcontextprotocol/sdk/server/stdio.js"),
      import("../mcp/server.ts"),
      import("../mcp/session.ts"),
      import("../mcp/tools.ts"),
      import("../composition/registry.ts"),
    ]);
    const connection = await connect(args);
    const session = new McpSession(connection.bay);
    const server = createMcpServer(session, mcpTools(CAPABILITIES));
    let closing: Promise<void> | null = null;
    const shutdown = () => {
      closing ??= session
        .close()
        .then(() => connection.close())
        .then(() => process.exit(0));
      return closing;
    };
    process.on("SIGINT", shutdown);
    process.on("SIGTERM", shutdown);
    // The client closing stdin ends the session: its sandboxes go.
    process.stdin.once("end", () => void shutdown());
    server.onclose = () => void shutdown();
    await server.connect(new StdioServerTransport());
  },
});
