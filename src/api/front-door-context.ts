import type { AnyElysia } from "elysia";
import type { ApiKeyRegistry, Principal } from "../core/api-keys.ts";
import type { BayConfig } from "../core/config/index.ts";
import type { SandboxService } from "../core/sandbox-service.ts";
import type { BayError } from "../shared/errors.ts";
import type { SandboxOperation } from "../shared/sandbox-operation.ts";
import type { AuthPlugin } from "./auth.ts";

/**
 * A front door: another API (E2B's, …) served by Bay under a path prefix of
 * its own, over the same core. Requests under the prefix are authenticated
 * by the door (its own headers), and its errors take the door's own shape;
 * everything else of the app (request ids, body limits, metrics) applies as
 * to Bay's own routes.
 */
export interface FrontDoor {
  /** Bay's own routes for it, under `prefix`. */
  routes: AnyElysia;
  /** Runs when a request's headers have arrived, before its body is read; throws a BayError (unauthorized) without a valid credential. */
  authenticate(request: Request): Principal | Promise<Principal>;
  /** How an error of a request under the prefix is answered. */
  errorResponse(error: BayError, requestId: string, request: Request): Response;
  /** Bay is stopping: ends what the door holds open (sessions, streams) before requests are drained. */
  close?(): Promise<void>;
}

export interface FrontDoorContext {
  sandboxes: SandboxService;
  apiKeys: ApiKeyRegistry;
  /** Gives the door's routes the principal its `authenticate` found. */
  auth: AuthPlugin;
  config: BayConfig;
  /** Every installed capability's operations. */
  operations: readonly SandboxOperation<any, any>[];
  /**
   * Calls Bay's own API in-process as `principal` (no key travels): a door
   * translates its protocol onto Bay's routes, so every check and hold of
   * Bay's API applies to it as well.
   */
  callBay(principal: Principal, method: string, path: string, init?: { json?: unknown; body?: FormData | Uint8Array | ReadableStream<Uint8Array> | string; headers?: Record<string, string> }): Promise<Response>;
}

export type FrontDoorFactory = (context: FrontDoorContext) => FrontDoor;

/** What the app needs of a front door plugin (src/kit/front-door.ts has the whole). */
export interface FrontDoorSource {
  name: string;
  /** e.g. "/e2b"; every path under it is the door's. */
  prefix: string;
  /** Off until configured. */
  enabled(config: BayConfig): boolean;
  loadRoutes(): Promise<FrontDoorFactory>;
}
