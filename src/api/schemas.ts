import { t } from "elysia";
import { TTL_CEILING_SECONDS } from "../core/ttl.ts";
import { SandboxStatusSchema } from "../core/views.ts";

/** The schemas that validate requests are the ones the OpenAPI document shows. */
export const ErrorBody = t.Object(
  {
    error: t.Object({
      code: t.String({ description: "Stable machine-readable code (api.md §2)" }),
      message: t.String(),
      request_id: t.String(),
      details: t.Record(t.String(), t.Unknown()),
    }),
  },
  { description: "Error envelope used by every error response" },
);

export const SandboxId = t.String({ pattern: "^sandbox-[0-9a-f]{12}$", description: "Sandbox id" });
export const SandboxParams = t.Object({ id: t.String({ description: "Sandbox id (sandbox-<12 hex>)" }) });

export const Sandbox = t.Object({
  id: SandboxId,
  status: SandboxStatusSchema,
  profile: t.String(),
  cargo_id: t.String(),
  capabilities: t.Array(t.String()),
  created_at: t.String({ format: "date-time" }),
  expires_at: t.Union([t.String({ format: "date-time" }), t.Null()]),
  idle_expires_at: t.Union([t.String({ format: "date-time" }), t.Null()]),
  state_reset_at: t.Union([t.String({ format: "date-time" }), t.Null()], {
    description: "When compute was last lost without being asked to stop (container died, out of memory, engine restart)",
  }),
  state_reset_reason: t.Union([t.String(), t.Null()]),
  status_detail: t.Union([t.String(), t.Null()], { description: "While starting: what the start is busy with, when slow (pulling the image)" }),
  metadata: t.Record(t.String(), t.String(), { description: "The labels given at create" }),
  containers: t.Array(
    t.Object({
      name: t.String({ description: "ship: the one container serving python, shell and filesystem" }),
      runtime_type: t.Literal("ship"),
      image: t.String(),
      status: t.Union([t.Literal("starting"), t.Literal("running")]),
      version: t.Union([t.String(), t.Null()], { description: "The runtime's version from its /meta handshake" }),
      capabilities: t.Array(t.String()),
      healthy: t.Union([t.Boolean(), t.Null()], { description: "Passed its handshake; null while starting" }),
    }),
    { description: "The sandbox's compute, as shipyard-neo lists it; empty while idle" },
  ),
});

export const SandboxPage = t.Object({ items: t.Array(Sandbox), next_cursor: t.Union([t.String(), t.Null()]) });

export const CreateSandboxBody = t.Object({
  profile: t.Optional(t.String({ minLength: 1, default: "python-default", description: "Profile id" })),
  cargo_id: t.Optional(t.Union([t.String({ minLength: 1 }), t.Null()], { description: "Attach an external cargo" })),
  ttl: t.Optional(
    t.Union([t.Integer({ minimum: 0, maximum: TTL_CEILING_SECONDS }), t.Null()], {
      description:
        "Seconds until the sandbox expires; 0 or null: never. At most the server's security.max_ttl_seconds (10 years " +
        "unless configured lower), else 422 validation_error; a server with that limit refuses 0 and null and gives its " +
        "limit to a create without ttl",
    }),
  ),
  metadata: t.Optional(
    t.Record(t.String({ minLength: 1, maxLength: 128 }), t.String({ maxLength: 1024 }), {
      description: "Labels of yours (at most 64), shown in the view and filtered on in lists",
    }),
  ),
  env: t.Optional(
    t.Record(t.String({ minLength: 1, maxLength: 256 }), t.String({ maxLength: 32768 }), {
      description: "Variables for every process of the sandbox, over the profile's (at most 256); never shown again",
    }),
  ),
});

export const ExtendTtlBody = t.Object({
  extend_by: t.Integer({
    minimum: 1,
    maximum: TTL_CEILING_SECONDS,
    description:
      "Seconds to add to expires_at (or to now, if later); the result may lie at most security.max_ttl_seconds " +
      "(10 years unless configured lower) from now, else 422 validation_error with details.max_extend_by",
  }),
});

/**
 * 1..200, checked by paginate(): Elysia validates a query number on its own
 * after converting it, and that error does not say which field it was.
 */
const PageLimit = t.Integer({ default: 50, description: "Page size, 1..200" });

export const ListSandboxesQuery = t.Object({
  limit: t.Optional(PageLimit),
  cursor: t.Optional(t.String({ minLength: 1 })),
  status: t.Optional(SandboxStatusSchema),
  metadata: t.Optional(t.String({ description: "Only sandboxes with all these labels: key=value pairs joined by &, URL-encoded (as E2B's API takes them)" })),
});

export const Profile = t.Object({
  id: t.String(),
  image: t.String(),
  resources: t.Object({ cpus: t.Number(), memory: t.String() }),
  capabilities: t.Array(t.String()),
  idle_timeout: t.Integer({ description: "Seconds" }),
  description: t.String(),
  network: t.Union([t.Literal("internet"), t.Literal("none"), t.Object({ allow: t.Array(t.String()) })], {
    description: "none: no network; internet: public addresses only; allow: only these destinations",
  }),
  warm_pool_size: t.Integer(),
  runtime: t.Union([t.Literal("runc"), t.Literal("gvisor")], { description: "The container runtime: runc, or gvisor (gVisor's user-space kernel between user code and the host's)" }),
  containers: t.Optional(
    t.Array(
      t.Object({
        name: t.String(),
        runtime_type: t.Literal("ship"),
        capabilities: t.Array(t.String()),
        resources: t.Object({ cpus: t.Number(), memory: t.String() }),
      }),
      { description: "With ?detail=true: the profile's containers (Bay runs one, ship)" },
    ),
  ),
});

export const ListProfilesQuery = t.Object({
  detail: t.Optional(t.Boolean({ description: "Also list each profile's containers, as shipyard-neo does" })),
});

export const StatusOk = t.Object({ status: t.Literal("ok") });
export const StatusStopped = t.Object({ status: t.Literal("stopped") });

export const Health = t.Object({
  status: t.Union([t.Literal("ok"), t.Literal("degraded")]),
  version: t.String(),
  commit: t.String(),
  driver: t.Object({
    name: t.String(),
    endpoint: t.String(),
    status: t.Union([t.Literal("ok"), t.Literal("unavailable")]),
    error: t.Optional(t.String()),
  }),
});

/** Errors any route can give, before or besides its own (a body over the limit, a bad Content-Length: 422, a bug). */
export const commonRouteErrors = { 413: ErrorBody, 422: ErrorBody, 500: ErrorBody };

/** Error responses every authenticated sandbox route can give. */
export const sandboxRouteErrors = {
  401: ErrorBody,
  404: ErrorBody,
  409: ErrorBody,
  422: ErrorBody,
  500: ErrorBody,
  503: ErrorBody,
};

/** Capability routes may also fail in the agent, or refuse a path or a capability the profile lacks (400). */
export const capabilityRouteErrors = { ...sandboxRouteErrors, 400: ErrorBody, 502: ErrorBody, 504: ErrorBody };

export const EXECUTION_STREAM_DESCRIPTION =
  "Send `Accept: text/event-stream` to receive Server-Sent Events while the code runs instead of one JSON answer: " +
  "`stdout` and `stderr` ({text}), `result` ({data: MIME bundle, kind: result|display}: the cell's value, displays, figures), " +
  "`error` ({text}: the traceback or timeout; or {code, message} if the agent fails mid-stream), and a final `done` " +
  "carrying exactly the JSON answer. Comment lines (`: keep-alive`) are sent every 5 s of silence.";

export const CargoParams = t.Object({ id: t.String({ description: "Cargo id (ws-<12 hex>)" }) });

export const Cargo = t.Object({
  id: t.String({ pattern: "^ws-[0-9a-f]{12}$" }),
  managed: t.Boolean({ description: "Created with a sandbox and deleted with it" }),
  managed_by_sandbox_id: t.Union([t.String(), t.Null()]),
  backend: t.Literal("docker_volume", { description: "Where the cargo lives, in shipyard-neo's terms: an engine volume" }),
  size_limit_mb: t.Integer({ description: "Measured by Bay: a sandbox whose cargo grows past it is stopped with a state_reset_reason saying so" }),
  created_at: t.String({ format: "date-time" }),
  last_accessed_at: t.String({ format: "date-time" }),
});

export const CargoPage = t.Object({ items: t.Array(Cargo), next_cursor: t.Union([t.String(), t.Null()]) });

export const CreateCargoBody = t.Object({
  size_limit_mb: t.Optional(t.Integer({ minimum: 1, maximum: 65536, default: 1024 })),
});

export const ListCargosQuery = t.Object({
  limit: t.Optional(PageLimit),
  cursor: t.Optional(t.String({ minLength: 1 })),
  managed: t.Optional(t.Boolean({ description: "true: managed cargos; false or absent: external cargos" })),
});

/** Documents the header; its format is checked by the idempotency service (409 conflict, as shipyard-neo answers). */
export const IdempotencyHeaders = t.Object({
  "idempotency-key": t.Optional(
    t.String({ description: "[A-Za-z0-9_-]{1,128}; a retry with the same key and body replays the first answer" }),
  ),
});

export const GcRunBody = t.Optional(
  t.Object({
    tasks: t.Optional(
      t.Union([t.Array(t.String()), t.Null()], {
        description:
          "Run only these tasks (Bay's names, or shipyard-neo's idle_session, expired_sandbox, orphan_container, " +
          "orphan_cargo, orphan_workspace); null or absent: all. An unknown name is 422 validation_error naming it",
      }),
    ),
  }),
);

export const GcRunReport = t.Object({
  results: t.Array(
    t.Object({
      task_name: t.String({ description: "As named in the request" }),
      cleaned_count: t.Integer(),
      skipped_count: t.Integer({ description: "Looked at and left alone (busy, still owned, young, under its limit)" }),
      errors: t.Array(t.String()),
    }),
  ),
  total_cleaned: t.Integer(),
  total_errors: t.Integer(),
  duration_ms: t.Integer(),
  started_at: t.String({ format: "date-time", description: "When the pass began (after any other replica's pass ended)" }),
  replica_id: t.String({ description: "The Bay replica that ran the pass" }),
});

export const GcStatus = t.Object({
  enabled: t.Boolean(),
  is_running: t.Boolean(),
  instance_id: t.String(),
  interval_seconds: t.Number(),
  last_run_at: t.Union([t.String({ format: "date-time" }), t.Null()]),
  tasks: t.Record(t.String(), t.Object({ enabled: t.Boolean() })),
});

export const AdminOverview = t.Object({
  owners: t.Array(
    t.Object({
      owner: t.String(),
      sandboxes: t.Integer({ description: "Live sandboxes" }),
      by_status: t.Record(t.String(), t.Integer(), { description: "Live sandboxes by status (ready, idle, starting, failed, expired)" }),
    }),
    { description: "Every owner with live sandboxes (warm pool members excluded)" },
  ),
  running_sessions: t.Integer({ description: "Sessions with a running container, warm pool members included" }),
  warm_pools: t.Array(t.Object({ profile: t.String(), ready: t.Integer(), target: t.Integer() })),
  executions_total: t.Integer({ description: "Python and shell executions this replica has answered since it started (successful requests)" }),
  replica_id: t.String({ description: "The replica that answered: executions_total is its own" }),
  version: t.String(),
});
