import { defineCommand } from "citty";
import { consola } from "consola";
import { coreConfigArgs } from "./config-args.ts";
import { connect, connectionArgs } from "./connection.ts";

export default defineCommand({
  meta: { name: "mcp", description: "Serve the Model Context Protocol over stdio (tools for sandboxes, Python, shell and files)" },
  args: { ...connectionArgs, ...coreConfigArgs },
  async run({ args }) {
    // stdout carries protocol messages only; every log line goes to stderr.
    consola.options.stdout = process.stderr;
    const { McpServer } = await import("../mcp/server.ts");
    const connection = await connect(args);
    const server = new McpServer(connection.bay, (line) => process.stdout.write(line));
    let closing: Promise<void> | null = null;
    const shutdown = () => {
      closing ??= server
        .close()
        .then(() => connection.close())
        .then(() => process.exit(0));
      return closing;
    };
    process.on("SIGINT", shutdown);
    process.on("SIGTERM", shutdown);

    const pending = new Set<Promise<void>>();
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of Bun.stdin.stream()) {
      buffered += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        const handled = server.handleLine(line).finally(() => pending.delete(handled));
        pending.add(handled);
      }
    }
    // The client closed stdin: finish what is running, then clean up.
    await Promise.all(pending);
    await shutdown();
  },
});
