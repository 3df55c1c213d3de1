import { defineCommand } from "citty";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { consola } from "consola";
import { configFromFlags, coreConfigArgs } from "./config-args.ts";
import { runOrExit } from "./fatal.ts";
import { ConfigError } from "../shared/errors.ts";
import { HEARTBEAT_INTERVAL_MS } from "../shared/sse.ts";

/** Longest path a unix socket address holds (sun_path, less its terminating NUL). */
const MAX_SOCKET_PATH = 107;

/**
 * Where the HTTP server listens behind the front door: in the data dir
 * (0700), or in a private temporary directory when that path is too long
 * for a socket.
 */
function privateSocket(dataDir: string): { path: string; remove(): void } {
  const inDataDir = join(dataDir, "http.sock");
  if (inDataDir.length <= MAX_SOCKET_PATH) {
    // Left over by a Bay that was killed.
    rmSync(inDataDir, { force: true });
    return { path: inDataDir, remove: () => rmSync(inDataDir, { force: true }) };
  }
  const directory = mkdtempSync(join(tmpdir(), "bay-http-"));
  return { path: join(directory, "http.sock"), remove: () => rmSync(directory, { recursive: true, force: true }) };
}

export default defineCommand({
  meta: { name: "serve", description: "Run the Bay daemon: the HTTP API, the dashboard at /ui, and MCP over HTTP at /mcp" },
  args: {
    ...coreConfigArgs,
    host: { type: "string", description: "Address to listen on (server.host)" },
    port: { type: "string", description: "Port to listen on (server.port; 0 picks a free one)" },
  },
  run: ({ args }) =>
    runOrExit(async () => {
      const config = configFromFlags(args, { server: { host: args.host, port: args.port } });
      const { createBay, createBayApp } = await import("../composition/bay.ts");
      const { shutdownGracefully } = await import("../core/shutdown.ts");
      const core = await createBay(config);
      // Reconcile with the engine before the first request, adopting containers that still run; the app is built
      // meanwhile (its routes need nothing of the reconciliation, and the reconciliation mostly waits on the engine).
      const [app] = await Promise.all([createBayApp(core), core.startBackground()]);
      const { listenFrontDoor } = await import("../api/front-door.ts");
      // The HTTP server listens privately; clients reach it through the front door (connection limit, header deadline).
      const httpSocket = privateSocket(config.data_dir);
      app.listen({
        unix: httpSocket.path,
        // Silence allowed between requests of a kept-alive connection; app.ts times bodies and lifts the
        // timeout for Bay's own work; the front door times a connection's first header. Never under two
        // heartbeats: an event stream relayed from an agent is quiet between them, and would be cut.
        idleTimeout: Math.max(config.server.request_header_timeout_seconds, (2 * HEARTBEAT_INTERVAL_MS) / 1000),
        // body-limit.ts enforces server.max_body_bytes, after the key check and with the envelope; Bun's own
        // limit would answer first, without either.
        maxRequestBodySize: Number.MAX_SAFE_INTEGER,
      } as unknown as Parameters<typeof app.listen>[0]); // Bun's types leave idleTimeout out for unix sockets; it applies there too.
      let front: ReturnType<typeof listenFrontDoor>;
      try {
        front = listenFrontDoor({
          hostname: config.server.host,
          port: config.server.port,
          maxConnections: config.server.max_connections,
          maxConnectionsPerClient: config.server.max_connections_per_client,
          headerTimeoutMs: config.server.request_header_timeout_seconds * 1000,
          upstream: httpSocket.path,
        });
      } catch (error) {
        // Nothing this start began (a warm pool's first members, network slots) is left running.
        await shutdownGracefully(app.server!, core).finally(() => httpSocket.remove());
        const inUse = (error as { code?: string }).code === "EADDRINUSE";
        throw new ConfigError(
          "server.port",
          `cannot listen on ${config.server.host}:${config.server.port}: ${inUse ? "the address is in use (another bay serve?)" : (error as Error).message}`,
        );
      }
      consola.info(
        `bay serve: listening on http://${config.server.host}:${front.port} (instance ${core.instanceId}, data ${config.data_dir}, driver ${core.driver.name} at ${core.driver.endpoint})`,
      );

      let stopping = false;
      const onSignal = (signal: string) => {
        if (stopping) return;
        stopping = true;
        consola.info(`bay serve: ${signal} received, shutting down`);
        front.stop();
        void app
          .closeFrontDoors()
          .catch((error: Error) => consola.warn(`bay serve: closing front doors: ${error.message}`))
          .then(() => shutdownGracefully(app.server!, core))
          .finally(() => httpSocket.remove())
          .then(() => process.exit(0));
      };
      process.on("SIGTERM", () => onSignal("SIGTERM"));
      process.on("SIGINT", () => onSignal("SIGINT"));
    }),
});
