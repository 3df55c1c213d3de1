import { Elysia, t } from "elysia";
import { BayError, DEFAULT_PROFILE_ID, type FrontDoorContext, type Principal, type SandboxView } from "../../src/kit/front-door.ts";
import { createdShape, detailShape, type E2bState } from "./sandbox-shape.ts";

/** E2B's default lifetime of a sandbox created without `timeout`. */
const DEFAULT_TIMEOUT_SECONDS = 300;
/** E2B's own template names, which map to Bay's default profile so that `Sandbox.create()` works as it is. */
const DEFAULT_TEMPLATES = new Set(["base", "code-interpreter-v1", "code-interpreter", "desktop"]);
const LIST_LIMIT_MAX = 200;

const CreateBody = t.Object(
  {
    templateID: t.Optional(t.String()),
    timeout: t.Optional(t.Integer({ minimum: 1 })),
    metadata: t.Optional(t.Record(t.String(), t.String())),
    envVars: t.Optional(t.Record(t.String(), t.String())),
  },
  // The SDKs send more (secure, allow_internet_access, network, autoPause, …): accepted, and not acted on.
  { additionalProperties: true },
);
const TimeoutBody = t.Object({ timeout: t.Integer({ minimum: 0 }) }, { additionalProperties: true });
const ConnectBody = t.Optional(t.Object({ timeout: t.Optional(t.Integer({ minimum: 0 })) }, { additionalProperties: true }));
const ListQuery = t.Object({
  metadata: t.Optional(t.String()),
  state: t.Optional(t.String()),
  limit: t.Optional(t.Integer({ minimum: 1, maximum: LIST_LIMIT_MAX })),
  nextToken: t.Optional(t.String()),
});
const Params = t.Object({ id: t.String({ minLength: 1 }) });

/**
 * E2B's control API (create, connect, get, list, kill, timeout, pause) on
 * Bay's sandboxes: a template is a profile, `timeout` a TTL, `metadata` and
 * `envVars` Bay's own metadata and env, pause is Bay's stop (files kept,
 * memory not) and connect resumes. docs/e2b.md has the whole mapping.
 */
export function controlRoutes({ sandboxes, auth, config }: FrontDoorContext) {
  const profileFor = (template: string | undefined): string => {
    if (!template || DEFAULT_TEMPLATES.has(template)) return DEFAULT_PROFILE_ID;
    if (config.profiles.some((profile) => profile.id === template)) return template;
    throw new BayError("not_found", `template ${template} not found: Bay serves its profiles (${config.profiles.map((p) => p.id).join(", ")}) as templates`, {
      template,
    });
  };
  const stateOf = async (owner: string, sandbox: SandboxView): Promise<E2bState> => ((await sandboxes.stoppedOnRequest(owner, sandbox.id)) ? "paused" : "running");

  const create = async (principal: Principal, body: typeof CreateBody.static, set: { status?: number | string }) => {
    const sandbox = await sandboxes.create(principal.owner, {
      profile: profileFor(body.templateID),
      ttl: body.timeout ?? DEFAULT_TIMEOUT_SECONDS,
      metadata: body.metadata,
      env: body.envVars,
    });
    set.status = 201;
    return createdShape(sandbox, await sandboxes.issueAccessToken(principal.owner, sandbox.id));
  };

  /** Resumes a paused sandbox (201) or answers a running one (200); a timeout only ever lengthens its life. */
  const connect = async (principal: Principal, id: string, timeout: number | undefined, set: { status?: number | string }) => {
    const current = await sandboxes.get(principal.owner, id);
    const paused = (await stateOf(principal.owner, current)) === "paused";
    const seconds = timeout || DEFAULT_TIMEOUT_SECONDS;
    const expires = current.expires_at === null ? Infinity : Date.parse(current.expires_at);
    if (expires < Date.now() + seconds * 1000) await sandboxes.setTimeout(principal.owner, id, seconds);
    const started = await sandboxes.start(principal.owner, id);
    set.status = paused ? 201 : 200;
    return createdShape(started, await sandboxes.issueAccessToken(principal.owner, id));
  };

  return new Elysia({ prefix: "/e2b" })
    .use(auth)
    .post("/sandboxes", ({ principal, body, set }) => create(principal, body, set), { body: CreateBody })
    .post("/v2/sandboxes", ({ principal, body, set }) => create(principal, body, set), { body: CreateBody })
    .post("/sandboxes/:id/connect", ({ principal, params, body, set }) => connect(principal, params.id, body?.timeout, set), { params: Params, body: ConnectBody })
    .post("/v2/sandboxes/:id/connect", ({ principal, params, body, set }) => connect(principal, params.id, body?.timeout, set), { params: Params, body: ConnectBody })
    .get("/sandboxes/:id", async ({ principal, params }) => {
      const sandbox = await sandboxes.get(principal.owner, params.id);
      return detailShape(sandbox, await stateOf(principal.owner, sandbox), config);
    }, { params: Params })
    .get("/v2/sandboxes", async ({ principal, query, set }) => {
      const page = await sandboxes.list(principal.owner, {
        limit: query.limit ?? 100,
        cursor: query.nextToken || undefined,
        metadata: bayMetadataFilter(query.metadata),
      });
      const states = new Set((query.state ?? "running,paused").split(",").map((state) => state.trim()));
      if (page.next_cursor) set.headers["x-next-token"] = page.next_cursor;
      const shapes = await Promise.all(page.items.map(async (sandbox) => detailShape(sandbox, await stateOf(principal.owner, sandbox), config)));
      return shapes.filter((sandbox) => states.has(sandbox.state));
    }, { query: ListQuery })
    .delete("/sandboxes/:id", async ({ principal, params, set }) => {
      // A sandbox already gone is E2B's 404, which its SDK's kill() answers with false.
      await sandboxes.get(principal.owner, params.id);
      // Answered once the sandbox is gone from the API, as E2B's kill is: its container and cargo go right after
      // (as with Prefer: respond-async), and the collector finishes a removal that a crash cut short.
      await sandboxes.delete(principal.owner, params.id, { inBackground: true });
      set.status = 204;
    }, { params: Params })
    .post("/sandboxes/:id/timeout", async ({ principal, params, body, set }) => {
      await sandboxes.setTimeout(principal.owner, params.id, Math.max(1, body.timeout));
      set.status = 204;
    }, { params: Params, body: TimeoutBody })
    .post("/sandboxes/:id/pause", async ({ principal, params, set }) => {
      const sandbox = await sandboxes.get(principal.owner, params.id);
      if ((await stateOf(principal.owner, sandbox)) === "paused") {
        throw new BayError("conflict", `sandbox ${params.id} is already paused`, { sandbox_id: params.id });
      }
      await sandboxes.stop(principal.owner, params.id);
      set.status = 204;
    }, { params: Params })
    .get("/sandboxes/:id/metrics", async ({ principal, params }) => {
      await sandboxes.get(principal.owner, params.id);
      return [];
    }, { params: Params });
}

/**
 * E2B's list filter: its SDKs encode each key and value, join the pairs as a
 * form, and encode that again as the query value (decoded once by the
 * router); Bay's filter takes the pairs as a form.
 */
export function bayMetadataFilter(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const pairs = [...new URLSearchParams(value)].map(([key, entry]): [string, string] => [safeDecode(key), safeDecode(entry)]);
  return new URLSearchParams(pairs).toString();
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
