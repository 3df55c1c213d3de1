import { Type, type Static } from "@sinclair/typebox";
import { installedCapabilities } from "../plugins.ts";

const Strict = { additionalProperties: false } as const;

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
    /** Names of capability plugins (plugins/<name>); checked against the built-in ones at load. */
    capabilities: Type.Array(Type.String({ minLength: 1 }), { uniqueItems: true, default: installedCapabilities() }),
    /** Seconds without calls after which a running session is stopped. */
    idle_timeout: Type.Integer({ minimum: 1, default: 1800 }),
    env: Type.Record(Type.String({ pattern: "^[A-Za-z_][A-Za-z0-9_]*$" }), Type.String(), { default: {} }),
    network: Type.Union([Type.Literal("bridge"), Type.Literal("none")], { default: "bridge" }),
    warm_pool_size: Type.Integer({ minimum: 0, default: 0 }),
  },
  Strict,
);
export type ProfileConfig = Static<typeof ProfileConfigSchema>;

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
        /** On SIGTERM/SIGINT, how long requests in flight may take to finish before they are cut. */
        shutdown_grace_seconds: Type.Number({ minimum: 0, default: 30 }),
        /** On shutdown, remove sandboxes' containers too (default: leave them; the next start adopts them). */
        stop_sessions_on_shutdown: Type.Boolean({ default: false }),
      },
      { ...Strict, default: {} },
    ),
    data_dir: Type.String({ minLength: 1, default: "~/.bay" }),
    /** Labels every engine object; a Bay never touches another instance's objects. Generated and kept in data_dir when unset. */
    instance_id: Type.Optional(Type.String({ pattern: "^[a-z0-9][a-z0-9-]{0,62}$" })),
    log: Type.Object(
      {
        level: Type.Union(
          [Type.Literal("silent"), Type.Literal("error"), Type.Literal("warn"), Type.Literal("info"), Type.Literal("debug")],
          { default: "info" },
        ),
        format: Type.Union([Type.Literal("pretty"), Type.Literal("json")], { default: "pretty" }),
      },
      { ...Strict, default: {} },
    ),
    driver: Type.Object(
      {
        type: Type.Union([Type.Literal("docker"), Type.Literal("k8s")], { default: "docker" }),
        docker: Type.Object(
          {
            socket: Type.String({ default: "/var/run/docker.sock" }),
            connect_mode: Type.Union(
              [Type.Literal("host_port"), Type.Literal("container_network"), Type.Literal("auto")],
              { default: "auto" },
            ),
            network: Type.Union([Type.String({ minLength: 1 }), Type.Null()], { default: null }),
            host_address: Type.String({ default: "127.0.0.1" }),
            pull_policy: Type.Union([Type.Literal("if_not_present"), Type.Literal("never")], {
              default: "if_not_present",
            }),
          },
          { ...Strict, default: {} },
        ),
      },
      { ...Strict, default: {} },
    ),
    ship: Type.Object(
      {
        /** The `bay` executable mounted into sandboxes. Defaults to the running binary. */
        binary_path: Type.Union([Type.String({ minLength: 1 }), Type.Null()], { default: null }),
        port: Type.Integer({ minimum: 1, maximum: 65535, default: 8123 }),
        /** How long a first call waits for a new container's agent to answer. */
        ready_timeout_seconds: Type.Number({ exclusiveMinimum: 0, default: 60 }),
        /** Cap for each output field of an execution; past it the field is truncated (api.md §6). */
        max_output_bytes: Type.Integer({ minimum: 1024, maximum: 256 * 1024 * 1024, default: 1024 * 1024 }),
      },
      { ...Strict, default: {} },
    ),
    security: Type.Object(
      {
        allow_anonymous: Type.Boolean({ default: false }),
        api_keys: Type.Array(ApiKeyConfigSchema, { default: [] }),
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
  },
  Strict,
);
export type BayConfig = Static<typeof BayConfigSchema>;
