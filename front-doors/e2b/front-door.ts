import { Elysia } from "elysia";
import { BayError, type FrontDoorFactory } from "../../src/kit/front-door.ts";
import { unaryError } from "./connect-protocol.ts";
import { controlRoutes } from "./control-api.ts";
import { controlErrorResponse, unauthorized } from "./errors.ts";
import { isSandboxRpc, isSandboxTraffic, sandboxRoutes } from "./sandbox-api.ts";

/**
 * E2B's API as a door of Bay: its control API authenticated by X-API-KEY
 * (a Bay API key), its in-sandbox traffic by the sandbox's access token, and
 * errors in the shapes E2B's SDKs read.
 */
const createE2bFrontDoor: FrontDoorFactory = (context) => {
  const { sandboxes, apiKeys } = context;
  return {
    routes: new Elysia().use(controlRoutes(context)).use(sandboxRoutes(context)),
    async authenticate(request) {
      if (isSandboxTraffic(request)) {
        // The code interpreter sends only the traffic token on /contexts; both are the sandbox's one token.
        const token = request.headers.get("x-access-token") ?? request.headers.get("e2b-traffic-access-token") ?? "";
        const owner = await sandboxes.ownerForAccessToken(request.headers.get("e2b-sandbox-id") ?? "", token);
        if (!owner) throw new BayError("unauthorized", "missing or invalid X-Access-Token for the sandbox named by E2b-Sandbox-Id");
        return { owner, admin: false };
      }
      const key = request.headers.get("x-api-key");
      const principal = key ? apiKeys.authenticate(`Bearer ${key}`) : null;
      if (!principal) throw unauthorized();
      return principal;
    },
    // envd's RPCs answer Connect errors; its /files and the control API answer {code, message}.
    errorResponse: (error, _, request) => (isSandboxRpc(request) ? unaryError(error) : controlErrorResponse(error)),
  };
};

export default createE2bFrontDoor;
