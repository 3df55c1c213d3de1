import { Elysia, t } from "elysia";
import { Bay } from "../../src/client/index.ts";
import { authenticate, errorEnvelope, type FrontDoorContext, type FrontDoorFactory, type Principal } from "../../src/kit/front-door.ts";
import { McpHttpSessions } from "../../src/mcp/http-sessions.ts";
import { mcpTools } from "../../src/mcp/tools.ts";

/**
 * /mcp as a door of Bay: authenticated by a Bay API key (Authorization:
 * Bearer), each session's tools call Bay's own API in-process as the
 * caller, so that owner scoping, quotas and every other check apply to them
 * as to any client. Errors before MCP takes over (no key) are Bay's envelope.
 */
const createMcpFrontDoor: FrontDoorFactory = (context) => {
  const sessions = new McpHttpSessions(mcpTools([{ operations: context.operations }]), context.config.mcp.session_idle_seconds * 1000);
  const handle = ({ request, principal, body }: { request: Request; principal: Principal; body: unknown }) =>
    sessions.handle(request, { owner: principal.owner, bay: () => bayAs(context, principal) }, body);
  return {
    routes: new Elysia()
      .use(context.auth)
      .post("/mcp", handle, documented("Send MCP messages", "JSON-RPC messages of the Model Context Protocol (streamable HTTP). An `initialize` without `Mcp-Session-Id` opens a session; its id comes back in that header."))
      .get("/mcp", handle, documented("Follow a session's server messages", "An event stream of the session named by `Mcp-Session-Id`."))
      .delete("/mcp", handle, documented("End a session", "Ends the session named by `Mcp-Session-Id` and deletes the sandboxes it created.")),
    authenticate: (request) => authenticate(context.apiKeys, request),
    errorResponse: (error, requestId) =>
      Response.json(errorEnvelope(error, requestId), {
        status: error.status,
        headers: error.code === "unauthorized" ? { "www-authenticate": 'Bearer realm="bay"' } : {},
      }),
    close: () => sessions.closeAll(),
  };
};

const McpMessages = t.Unknown({
  description: "A JSON-RPC message or batch (application/json), or an event stream of them (text/event-stream), as MCP's streamable HTTP transport defines",
});

/** The OpenAPI entry of one of /mcp's methods: MCP defines the messages; the document says where they go. */
function documented(summary: string, description: string) {
  return {
    detail: { tags: ["MCP"], summary, description },
    response: { 200: McpMessages, 202: t.Void({ description: "A notification or response was accepted" }) },
  };
}

/** A client of Bay's API that calls it in-process as `principal`. */
function bayAs(context: FrontDoorContext, principal: Principal): Bay {
  return new Bay({
    fetch: async (request) => {
      const url = new URL(request.url);
      return context.callBay(principal, request.method, `${url.pathname}${url.search}`, {
        headers: Object.fromEntries(request.headers),
        body: request.body ?? undefined,
      });
    },
  });
}

export default createMcpFrontDoor;
