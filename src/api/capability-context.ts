import type { SandboxService } from "../core/sandbox-service.ts";
import type { AuthPlugin } from "./auth.ts";

/** What a capability plugin's Bay-side routes get from the app. */
export interface CapabilityRouteContext {
  sandboxes: SandboxService;
  auth: AuthPlugin;
}
