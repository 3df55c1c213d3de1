/**
 * A throwaway Postgres cluster for a test file: Debian's server, initdb'd
 * into a temporary directory as the `postgres` user, listening on loopback
 * at a free port (and on a socket in that directory), trusting local
 * connections; stopped and removed after the file's last test. Each call of
 * `database()` makes a fresh database in it.
 */
import { afterAll, beforeAll } from "bun:test";
import { chownSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";

export interface ThrowawayPostgres {
  /** A URL to a new, empty database of the cluster. */
  database(): Promise<string>;
  stop(): Promise<void>;
}

function postgresBinary(name: string): string {
  const versions = readdirSync("/usr/lib/postgresql").sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) throw new Error("no Postgres server under /usr/lib/postgresql (bootstrap.sh --test installs it)");
  return `/usr/lib/postgresql/${versions[0]}/bin/${name}`;
}

function asPostgres(argv: string[]): void {
  const result = Bun.spawnSync(["runuser", "-u", "postgres", "--", ...argv], { stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`${argv.join(" ")} failed: ${result.stderr.toString()}${result.stdout.toString()}`);
}

async function freePort(): Promise<number> {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = server.port;
  server.stop(true);
  return port;
}

export async function startPostgres(): Promise<ThrowawayPostgres> {
  const dir = mkdtempSync(join(tmpdir(), "bay-postgres-"));
  chownSync(dir, Number(Bun.spawnSync(["id", "-u", "postgres"]).stdout.toString()), Number(Bun.spawnSync(["id", "-g", "postgres"]).stdout.toString()));
  const data = join(dir, "data");
  const port = await freePort();
  asPostgres([postgresBinary("initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]);
  asPostgres([
    postgresBinary("pg_ctl"), "-D", data, "-l", join(dir, "log"), "-w", "-t", "60",
    "-o", `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${dir} -c fsync=off -c max_connections=200`,
    "start",
  ]);
  const admin = new Bun.SQL({ url: `postgres://postgres@127.0.0.1:${port}/postgres`, max: 1 });
  return {
    async database() {
      const name = `bay_${randomBytes(6).toString("hex")}`;
      await admin.unsafe(`CREATE DATABASE ${name}`);
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      await admin.close().catch(() => undefined);
      try {
        asPostgres([postgresBinary("pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * One cluster for the whole test file. Bun runs afterAll hooks in the order
 * they were registered, so this one would stop the cluster before the
 * file's own: cleanup that still needs the cluster (closing a Bay whose
 * collector and heartbeat use it) goes to `beforeStop`, which runs first.
 */
export function usePostgres(): ThrowawayPostgres & { beforeStop(cleanup: () => Promise<void>): void } {
  let cluster: ThrowawayPostgres | undefined;
  const cleanups: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    cluster = await startPostgres();
  });
  afterAll(async () => {
    try {
      for (const cleanup of cleanups) await cleanup();
    } finally {
      await cluster?.stop();
    }
  });
  return {
    database: () => cluster!.database(),
    stop: () => cluster!.stop(),
    beforeStop: (cleanup) => void cleanups.push(cleanup),
  };
}
