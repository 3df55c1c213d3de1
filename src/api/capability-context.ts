import type { AnyElysia } from "elysia";
import type { SandboxService } from "../core/sandbox-service.ts";
import type { SandboxOperation } from "../shared/sandbox-operation.ts";
import type { AuthPlugin } from "./auth.ts";

/** What a capability plugin's Bay-side routes get from the app. */
export interface CapabilityRouteContext {
  sandboxes: SandboxService;
  auth: AuthPlugin;
}

/** A capability's Bay-side half: its routes, built over the app's services. */
export type BayRoutesFactory = (context: CapabilityRouteContext) => AnyElysia;

/** What the app needs of a capability plugin (src/kit/capability.ts has the whole). */
export interface BayRoutesSource {
  /** What clients can do with it; front doors that offer operations (MCP's tools) read them. */
  operations: readonly SandboxOperation<any, any>[];
  loadBayRoutes(): Promise<BayRoutesFactory>;
}
