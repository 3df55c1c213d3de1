import { consola } from "consola";
import { resolveAgentBinary } from "./agent-binary.ts";
import { ApiKeyRegistry, ensureGeneratedKey } from "./api-keys.ts";
import { DEFAULT_OWNER, POOL_OWNER } from "./owners.ts";
import { deploymentOverview, type DeploymentOverview } from "./overview.ts";
import { CargoService } from "./cargo-service.ts";
import { prepareDataDir } from "./data-dir.ts";
import { EngineWatcher } from "./engine-watcher.ts";
import { GarbageCollector } from "./gc/collector.ts";
import { Metrics } from "./metrics.ts";
import { WarmPool } from "./warm-pool.ts";
import { IdempotencyService } from "./idempotency.ts";
import type { BayConfig } from "./config/index.ts";
import type { Driver } from "./driver.ts";
import { resolveInstanceId } from "./instance-id.ts";
import { configureLogging } from "./logging.ts";
import { PendingVolumes } from "./pending-volumes.ts";
import { Quotas } from "./quotas.ts";
import { SandboxService } from "./sandbox-service.ts";
import { SessionManager } from "./session-manager.ts";
import { StateStore } from "./state-store.ts";
import { Replica } from "./replica.ts";
import { TTL_CEILING_SECONDS } from "./ttl.ts";
import { openDatabase, sqliteState, type BayDatabase } from "../db/database.ts";
import type { StateDatabase } from "../db/state-database.ts";
import { openPostgresState } from "../db/postgres-state.ts";

/** Everything `bay serve` and `bay exec` share: state, driver and services. */
export interface BayCore {
  config: BayConfig;
  instanceId: string;
  /** The state backend; `db` is its drizzle database. */
  state: StateDatabase;
  db: BayDatabase;
  driver: Driver;
  apiKeys: ApiKeyRegistry;
  sandboxes: SandboxService;
  cargos: CargoService;
  idempotency: IdempotencyService;
  collector: GarbageCollector;
  sessions: SessionManager;
  pool: WarmPool;
  /** This process among the replicas sharing the state. */
  replica: Replica;
  metrics: Metrics;
  /** Owners, running sessions and warm pools, for admins. */
  overview(): Promise<DeploymentOverview>;
  /**
   * Starts background work for a daemon: reconciles the database with the
   * engine (adopting containers that still run), then follows engine events
   * and runs the collector.
   */
  startBackground(): Promise<void>;
  close(): Promise<void>;
}

/** The core over a driver the caller created (src/composition/bay.ts picks it from the config). */
export async function createBayCore(config: BayConfig, driver: Driver): Promise<BayCore> {
  configureLogging(config.log);
  prepareDataDir(config.data_dir);
  const agentBinaryPath = resolveAgentBinary(config.ship.binary_path);
  const state = config.database.url
    ? await openPostgresState(config.database.url, config.database.pool_size)
    : sqliteState(openDatabase(config.data_dir));
  const db = state.db;
  const store = new StateStore(state);
  // Replicas on one database label the engine's objects alike: the first one's id is kept there.
  const localInstanceId = resolveInstanceId(config.data_dir, config.instance_id);
  const instanceId = state.dialect === "postgres" && !config.instance_id ? await store.settingOrSet("instance_id", localInstanceId) : localInstanceId;
  const capped = await store.capExpiries(Date.now() + TTL_CEILING_SECONDS * 1000);
  if (capped > 0) consola.warn(`${capped} sandbox(es) had expires_at more than ten years ahead; brought back to ten years`);
  const quotas = new Quotas(config.quotas);
  const metrics = new Metrics();
  let sessions: SessionManager | undefined;
  const replica = new Replica(store, () => sessions?.touchBusy() ?? Promise.resolve());
  sessions = new SessionManager({ config, store, replica, driver, instanceId, agentBinaryPath, quotas, metrics });
  const pendingVolumes = new PendingVolumes(driver);
  const pool = new WarmPool(config, store, sessions, metrics, () => replica.isLeader());
  const sandboxes = new SandboxService(config, store, driver, sessions, instanceId, quotas, pendingVolumes, pool);
  pool.attach(sandboxes);
  const cargos = new CargoService(store, driver, instanceId, pendingVolumes, quotas);
  const idempotency = new IdempotencyService(state, config.idempotency.ttl_hours * 3600 * 1000);
  const collector = new GarbageCollector({ store, idempotency, replica, driver, sandboxes, sessions, instanceId, pendingVolumes }, config.gc, metrics);
  // Every process beats (so that its starts are not taken for a dead replica's); leading is for daemons.
  await replica.start();
  registerGauges(metrics, store, pool, replica);
  const watcher = new EngineWatcher(driver, sessions, instanceId, () => collector.run({ tasks: ["lost_sessions", "orphan_containers"] }));
  const apiKeys = new ApiKeyRegistry(apiKeysWithGenerated(config), config.security.allow_anonymous);

  return {
    config,
    instanceId,
    state,
    db,
    driver,
    apiKeys,
    sandboxes,
    cargos,
    idempotency,
    collector,
    sessions,
    pool,
    replica,
    metrics,
    overview: () => deploymentOverview(store, pool),
    async startBackground() {
      await replica.lead();
      await collector.run({ atStartup: true }).catch((error: Error) => consola.warn(`start-up reconciliation failed: ${error.message}`));
      await watcher.start();
      collector.start();
      driver.startBackground?.();
      pool.start();
    },
    async close() {
      await pool.stop();
      await sandboxes.settleTeardowns();
      watcher.stop();
      await collector.stop();
      await replica.stop();
      await driver.close?.();
      await state.close();
    },
  };
}

/** Gauges read at scrape time from the state database. */
function registerGauges(metrics: Metrics, store: StateStore, pool: WarmPool, replica: Replica): void {
  // Which process answered the scrape: counters and histograms are this replica's own, the other gauges the deployment's.
  metrics.gauge("bay_replica_info", "This Bay replica (1), and whether it leads (runs the collector's schedule and keeps the warm pools)", async () => [
    { labels: { replica: replica.id, leader: String(replica.isLeader()) }, value: 1 },
  ]);
  metrics.gauge("bay_sandboxes", "Live sandboxes by status (warm pool members excluded)", async () => {
    const byStatus = new Map<string, number>();
    for (const { status, count } of await store.sandboxStatusCounts(Date.now(), POOL_OWNER)) byStatus.set(status, (byStatus.get(status) ?? 0) + count);
    return [...byStatus].map(([status, value]) => ({ labels: { status }, value }));
  });
  metrics.gauge("bay_running_sessions", "Sessions with a running container (warm pool members included)", async () => [
    { labels: {}, value: (await store.sessionsWithStatus("running")).length },
  ]);
  metrics.gauge("bay_warm_pool_ready", "Warm pool members ready to be claimed, by profile", async () =>
    (await pool.readySizes()).map((size) => ({ labels: { profile: size.profile }, value: size.ready })),
  );
  metrics.gauge("bay_warm_pool_target", "Configured warm pool size, by profile", async () =>
    (await pool.readySizes()).map((size) => ({ labels: { profile: size.profile }, value: size.target })),
  );
}

function apiKeysWithGenerated(config: BayConfig): BayConfig["security"]["api_keys"] {
  if (config.security.api_keys.length > 0 || config.security.allow_anonymous) return config.security.api_keys;
  const { key, created } = ensureGeneratedKey(config.data_dir);
  if (created) {
    consola.box(`No API key was configured, so Bay generated one (kept in ${config.data_dir}/api_key):\n\n  ${key}\n\nSend it as "Authorization: Bearer <key>".`);
  }
  return [{ key, owner: DEFAULT_OWNER, admin: true }];
}
