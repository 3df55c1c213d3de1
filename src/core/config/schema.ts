import { Type, type Static } from "@sinclair/typebox";
import { TTL_CEILING_SECONDS } from "../ttl.ts";

const Strict = { additionalProperties: false } as const;

export const NetworkSettingSchema = Type.Union(
  [
    Type.Literal("internet"),
    Type.Literal("none"),
    /** The old name of internet. */
    Type.Literal("bridge"),
    Type.Object(
      // Each entry's form (CIDR, IP, CIDR:port, IP:port, name:port) is checked after the schema, with a reason.
      { allow: Type.Array(Type.String({ minLength: 1, maxLength: 260 }), { maxItems: 256 }) },
      Strict,
    ),
  ],
  { default: "internet" },
);

export const ProfileConfigSchema = Type.Object(
  {
    id: Type.String({ pattern: "^[a-z0-9][a-z0-9._-]{0,62}$" }),
    image: Type.String({ minLength: 1 }),
    description: Type.String({ default: "" }),
    resources: Type.Object(
      {
        cpus: Type.Number({ exclusiveMinimum: 0, maximum: 256, default: 1 }),
        memory: Type.String({ pattern: "^[0-9]+(\\.[0-9]+)?[bkmgBKMG]?$", default: "1g" }),
        pids_limit: Type.Integer({ minimum: 16, default: 512 }),
      },
      { ...Strict, default: {} },
    ),
    /** Names of capability plugins (plugins/<name>); the loader defaults and checks them against the installed ones. */
    capabilities: Type.Array(Type.String({ minLength: 1 }), { uniqueItems: true }),
    /** Seconds without calls after which a running session is stopped. */
    idle_timeout: Type.Integer({ minimum: 1, default: 1800 }),
    env: Type.Record(Type.String({ pattern: "^[A-Za-z_][A-Za-z0-9_]*$" }), Type.String(), { default: {} }),
    /**
     * none: no network at all (Bay reaches the agent through a unix socket);
     * internet: public addresses only; {allow: [...]}: only those (docs/security.md).
     */
    network: NetworkSettingSchema,
    /**
     * The container runtime: runc (the engine's default), or gvisor, a second
     * wall between user code and the host kernel (docs/security.md). A runtime
     * the engine lacks stops Bay at start-up; a sandbox never falls back.
     */
    runtime: Type.Union([Type.Literal("runc"), Type.Literal("gvisor")], { default: "runc" }),
    /** Started, ready sandboxes kept for this profile, so that a create needs no container start. */
    warm_pool_size: Type.Integer({ minimum: 0, maximum: 100, default: 0 }),
    /** Hardening; the defaults are the safe choice, a profile may relax or tighten them. */
    security: Type.Object(
      {
        /**
         * Root filesystem read-only (the default), so that the container's writable
         * layer cannot grow on the host's disk; /workspace stays writable.
         */
        read_only_rootfs: Type.Boolean({ default: true }),
        no_new_privileges: Type.Boolean({ default: true }),
        /** Linux capabilities added for the agent beyond AGENT_CAPABILITIES; user code never gets any (docs/security.md). */
        extra_capabilities: Type.Array(Type.String({ pattern: "^[A-Z_]{2,32}$" }), { uniqueItems: true, default: [] }),
        /** Size of the tmpfs at /tmp (HOME of user code lives there too). */
        tmp_size: Type.String({ pattern: "^[0-9]+[kmgKMG]?$", default: "256m" }),
      },
      { ...Strict, default: {} },
    ),
  },
  Strict,
);
export type ProfileConfig = Static<typeof ProfileConfigSchema>;

const QuotaSchema = Type.Object(
  {
    /** Live (not deleted) sandboxes. */
    max_sandboxes: Type.Integer({ minimum: 0, default: 0 }),
    /** Sandboxes with compute at once (starting or running). */
    max_running_sessions: Type.Integer({ minimum: 0, default: 0 }),
    /** Live external cargos (POST /v1/cargos); managed ones come and go with their sandbox and count under max_sandboxes. */
    max_cargos: Type.Integer({ minimum: 0, default: 0 }),
  },
  { ...Strict, default: {} },
);
export type QuotaConfig = Static<typeof QuotaSchema>;

export const ApiKeyConfigSchema = Type.Object(
  {
    key: Type.Optional(Type.String({ minLength: 16 })),
    key_hash: Type.Optional(Type.String({ pattern: "^[0-9a-f]{64}$" })),
    owner: Type.String({ pattern: "^[A-Za-z0-9_.@-]{1,64}$", default: "default" }),
    admin: Type.Boolean({ default: false }),
  },
  Strict,
);

export const BayConfigSchema = Type.Object(
  {
    server: Type.Object(
      {
        host: Type.String({ default: "127.0.0.1" }),
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 8114 }),
        /** Largest request body accepted (uploads included); larger ones get 413 payload_too_large. */
        max_body_bytes: Type.Integer({ minimum: 1024, default: 128 * 1024 * 1024 }),
        /**
         * A new connection must send its first request header whole within this time, and a kept-alive
         * connection may be silent this long between requests; else it is closed. At most 255.
         */
        request_header_timeout_seconds: Type.Integer({ minimum: 1, maximum: 255, default: 15 }),
        /**
         * A request body must arrive whole within this time after its header (an upload, which streams on to
         * the sandbox, may instead pause at most this long at a time); else the connection is cut. Once the
         * request is in, Bay's own work (an execution, a session start) is not timed by this. At most 255.
         */
        request_body_timeout_seconds: Type.Integer({ minimum: 1, maximum: 255, default: 60 }),
        /** Open connections at most; past it a new connection is closed before anything of it is read. */
        max_connections: Type.Integer({ minimum: 1, default: 1024 }),
        /** Open connections from one client address at most (behind a proxy every client has its address). */
        max_connections_per_client: Type.Integer({ minimum: 1, default: 64 }),
        /** On SIGTERM/SIGINT, how long requests in flight may take to finish before they are cut. */
        shutdown_grace_seconds: Type.Number({ minimum: 0, default: 30 }),
        /** On shutdown, remove sandboxes' containers too (default: leave them; the next start adopts them). */
        stop_sessions_on_shutdown: Type.Boolean({ default: false }),
        /** On shutdown, delete warm pool members (default: keep them for the next start to adopt). */
        drain_warm_pools_on_shutdown: Type.Boolean({ default: false }),
      },
      { ...Strict, default: {} },
    ),
    data_dir: Type.String({ minLength: 1, default: "~/.bay" }),
    /**
     * Where state lives: SQLite in data_dir unless `url` names a Postgres database (postgres://…), which several
     * Bay replicas may share. BAY_DATABASE_URL sets `url` too.
     */
    database: Type.Object(
      {
        url: Type.Optional(Type.String({ pattern: "^postgres(ql)?://", description: "postgres://user:password@host:port/database" })),
        /** Connections each Bay opens to Postgres at most. */
        pool_size: Type.Integer({ minimum: 1, maximum: 200, default: 10 }),
      },
      { ...Strict, default: {} },
    ),
    /** Labels every engine object; a Bay never touches another instance's objects. Generated and kept in data_dir when unset. */
    instance_id: Type.Optional(Type.String({ pattern: "^[a-z0-9][a-z0-9-]{0,62}$" })),
    log: Type.Object(
      {
        level: Type.Union(
          [Type.Literal("silent"), Type.Literal("error"), Type.Literal("warn"), Type.Literal("info"), Type.Literal("debug")],
          { default: "info" },
        ),
        format: Type.Union([Type.Literal("pretty"), Type.Literal("json")], { default: "pretty" }),
        /** Show progress of slow steps (image pulls) even when the level hides other info lines. */
        progress: Type.Boolean({ default: false }),
      },
      { ...Strict, default: {} },
    ),
    /**
     * `type` names the driver (one of the registry's; the first is the default); `driver.<name>` holds that
     * driver's own settings, validated against the schema the driver declares (validateDriverSection in load.ts).
     */
    driver: Type.Object({ type: Type.String({ minLength: 1 }) }, { additionalProperties: true, default: {} }),
    ship: Type.Object(
      {
        /** The `bay` executable mounted into sandboxes. Defaults to the running binary. */
        binary_path: Type.Union([Type.String({ minLength: 1 }), Type.Null()], { default: null }),
        port: Type.Integer({ minimum: 1, maximum: 65535, default: 8123 }),
        /** How long a first call waits for a new container's agent to answer. */
        ready_timeout_seconds: Type.Number({ exclusiveMinimum: 0, default: 60 }),
        /** Container starts in flight at once; more wait their turn, a wait no timeout counts (start-slots.ts). */
        max_concurrent_starts: Type.Integer({ minimum: 1, maximum: 1000, default: 8 }),
        /** Cap for each output field of an execution; past it the field is truncated (api.md §6). */
        max_output_bytes: Type.Integer({ minimum: 1024, maximum: 256 * 1024 * 1024, default: 1024 * 1024 }),
      },
      { ...Strict, default: {} },
    ),
    security: Type.Object(
      {
        /** Requests without any Authorization header act as owner "anonymous" (never admin; no key may name that owner). */
        allow_anonymous: Type.Boolean({ default: false }),
        api_keys: Type.Array(ApiKeyConfigSchema, { default: [] }),
        /**
         * Longest a sandbox may live from now: ttl at create and expires_at after extend_ttl. Null: sandboxes
         * may be created without expiry, and finite ones stay within ten years. A number: every sandbox
         * expires within it (a create without ttl gets it; ttl 0 is refused). Past it: 422 validation_error.
         */
        max_ttl_seconds: Type.Union([Type.Integer({ minimum: 1, maximum: TTL_CEILING_SECONDS }), Type.Null()], { default: null }),
      },
      { ...Strict, default: {} },
    ),
    /** Per-owner limits; 0 means unlimited. `owners` overrides `default` for named owners. */
    quotas: Type.Object(
      {
        default: QuotaSchema,
        owners: Type.Record(Type.String({ pattern: "^[A-Za-z0-9_.@-]{1,64}$" }), QuotaSchema, { default: {} }),
      },
      { ...Strict, default: {} },
    ),
    profiles: Type.Array(ProfileConfigSchema, { default: [] }),
    gc: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        interval_seconds: Type.Number({ exclusiveMinimum: 0, default: 60 }),
        /** Engine objects younger than this are never orphans: their rows may not be written yet. */
        orphan_grace_seconds: Type.Number({ minimum: 0, default: 60 }),
      },
      { ...Strict, default: {} },
    ),
    idempotency: Type.Object(
      { ttl_hours: Type.Number({ exclusiveMinimum: 0, default: 24 }) },
      { ...Strict, default: {} },
    ),
    /** The E2B-compatible front door under /e2b (docs/e2b.md); off until enabled. */
    e2b: Type.Object(
      { enabled: Type.Boolean({ default: false }) },
      { ...Strict, default: {} },
    ),
    /** The Model Context Protocol over streamable HTTP at /mcp (API key required, like every route). */
    mcp: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        /** A session without a request for this long is closed, and the sandboxes it created are deleted. */
        session_idle_seconds: Type.Integer({ minimum: 60, default: 1800 }),
      },
      { ...Strict, default: {} },
    ),
  },
  Strict,
);
/** `driver.type`, and each driver's own settings under its name (validated by the loader against that driver's schema). */
export type DriverSection = { type: string } & Record<string, unknown>;
export type BayConfig = Omit<Static<typeof BayConfigSchema>, "driver"> & { driver: DriverSection };
