import type { Principal } from "../core/api-keys.ts";
import type { IdempotencyService } from "../core/idempotency.ts";

interface IdempotentContext {
  request: Request;
  principal: Principal;
  body: unknown;
  set: { status?: number | string; headers: Record<string, string | number> };
}

/**
 * Runs a creating route under its Idempotency-Key, if the request has one:
 * a retry gets the first answer again (marked Idempotent-Replayed: true).
 */
export async function idempotent<T>(
  service: IdempotencyService,
  context: IdempotentContext,
  successStatus: number,
  run: () => Promise<T>,
): Promise<T> {
  const { request } = context;
  const result = await service.execute(
    context.principal.owner,
    request.headers.get("idempotency-key"),
    { method: request.method, path: new URL(request.url).pathname, body: context.body },
    async () => ({ status: successStatus, body: await run() }),
  );
  context.set.status = result.status;
  if (result.replayed) context.set.headers["idempotent-replayed"] = "true";
  return result.body as T;
}
