import { randomUUID } from "node:crypto";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import type { Bay } from "../client/index.ts";
import { HEARTBEAT_INTERVAL_MS } from "../shared/sse.ts";
import { createMcpServer } from "./server.ts";
import { McpSession } from "./session.ts";
import type { Tool } from "./tools.ts";

/** Who sends a request to /mcp, as the front door authenticated it. */
export interface McpCaller {
  owner: string;
  /** A client of Bay's API acting as this caller, made for a session it opens. */
  bay(): Bay;
}

interface SessionEntry {
  owner: string;
  transport: WebStandardStreamableHTTPServerTransport;
  server: Server;
  session: McpSession;
}

/**
 * MCP over streamable HTTP: one MCP session per client that initializes,
 * named by the Mcp-Session-Id header, each on the official SDK's transport.
 * A session belongs to the owner that opened it: another owner's requests
 * for it are answered as for an unknown session. Sessions end on DELETE,
 * after `idleMs` without a request or a running tool call, or when Bay
 * stops; their sandboxes go with them.
 */
export class McpHttpSessions {
  private readonly sessions = new Map<string, SessionEntry>();
  private readonly sweeper: Timer;

  constructor(
    private readonly tools: readonly Tool[],
    private readonly idleMs: number,
  ) {
    this.sweeper = setInterval(() => void this.closeIdle(), Math.min(60_000, idleMs / 4));
    this.sweeper.unref();
  }

  /** Answers one request to /mcp; `parsedBody` is the JSON body the app has read already. */
  async handle(request: Request, caller: McpCaller, parsedBody: unknown): Promise<Response> {
    const sessionId = request.headers.get("mcp-session-id");
    if (sessionId) {
      const entry = this.sessions.get(sessionId);
      if (!entry || entry.owner !== caller.owner) return sessionNotFound();
      entry.session.markUsed();
      return entry.transport.handleRequest(request, { parsedBody });
    }
    if (request.method !== "POST") return badRequest("Mcp-Session-Id header is required; a session starts with an initialize request (POST)");
    return this.open(request, caller, parsedBody);
  }

  /** Ends every session, deleting the sandboxes they created (Bay is stopping). */
  async closeAll(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.all([...this.sessions.keys()].map((id) => this.close(id)));
  }

  get size(): number {
    return this.sessions.size;
  }

  private async open(request: Request, caller: McpCaller, parsedBody: unknown): Promise<Response> {
    const session = new McpSession(caller.bay());
    const server = createMcpServer(session, this.tools);
    const entry: SessionEntry = { owner: caller.owner, session, server, transport: undefined! };
    entry.transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => `mcp-${randomUUID()}`,
      onsessioninitialized: (id) => void this.sessions.set(id, entry),
      onsessionclosed: (id) => this.close(id),
      // A quiet stream gets a comment line as often as Bay's own streams do, so that no idle timeout on the way cuts it.
      keepAliveMs: HEARTBEAT_INTERVAL_MS,
    });
    await server.connect(entry.transport);
    const response = await entry.transport.handleRequest(request, { parsedBody });
    // Anything but a successful initialize leaves no session behind.
    if (!entry.transport.sessionId || !this.sessions.has(entry.transport.sessionId)) await server.close();
    return response;
  }

  private async close(id: string): Promise<void> {
    const entry = this.sessions.get(id);
    if (!entry) return;
    this.sessions.delete(id);
    await entry.server.close().catch(() => undefined);
    await entry.session.close();
  }

  private async closeIdle(): Promise<void> {
    const cutoff = Date.now() - this.idleMs;
    const idle = [...this.sessions].filter(([, entry]) => entry.session.idleSince(cutoff)).map(([id]) => id);
    await Promise.all(idle.map((id) => this.close(id)));
  }
}

/** What the streamable HTTP transport answers for an unknown session: the client starts a new one. */
function sessionNotFound(): Response {
  return Response.json({ jsonrpc: "2.0", error: { code: -32001, message: "Session not found" }, id: null }, { status: 404 });
}

function badRequest(message: string): Response {
  return Response.json({ jsonrpc: "2.0", error: { code: -32000, message: `Bad Request: ${message}` }, id: null }, { status: 400 });
}
