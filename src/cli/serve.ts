import { defineCommand } from "citty";
import { consola } from "consola";
import { configFromFlags, coreConfigArgs } from "./config-args.ts";
import { runOrExit } from "./fatal.ts";

export default defineCommand({
  meta: { name: "serve", description: "Run the Bay daemon (HTTP API)" },
  args: {
    ...coreConfigArgs,
    host: { type: "string", description: "Address to listen on (server.host)" },
    port: { type: "string", description: "Port to listen on (server.port; 0 picks a free one)" },
  },
  run: ({ args }) =>
    runOrExit(async () => {
      const config = configFromFlags(args, { server: { host: args.host, port: args.port } });
      const { createBayCore } = await import("../core/bay-core.ts");
      const { createApp } = await import("../api/app.ts");
      const { shutdownGracefully } = await import("../core/shutdown.ts");
      const core = await createBayCore(config);
      // Reconcile with the engine before the first request, adopting containers that still run.
      await core.startBackground();
      const app = await createApp(core);
      app.listen({
        hostname: config.server.host,
        port: config.server.port,
        // Executions may run for minutes before the first byte of the answer.
        idleTimeout: 0,
        // body-limit.ts refuses oversized bodies with the error envelope; this is only a backstop.
        maxRequestBodySize: config.server.max_body_bytes * 2,
      });
      consola.info(
        `bay serve: listening on http://${config.server.host}:${app.server?.port} (instance ${core.instanceId}, data ${config.data_dir}, driver ${core.driver.name} at ${core.driver.endpoint})`,
      );

      let stopping = false;
      const onSignal = (signal: string) => {
        if (stopping) return;
        stopping = true;
        consola.info(`bay serve: ${signal} received, shutting down`);
        void shutdownGracefully(app.server!, core).then(() => process.exit(0));
      };
      process.on("SIGTERM", () => onSignal("SIGTERM"));
      process.on("SIGINT", () => onSignal("SIGINT"));
    }),
});
