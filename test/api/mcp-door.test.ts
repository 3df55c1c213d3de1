/**
 * /mcp as a door of Bay (on the in-memory driver): on by default and off
 * with `mcp.enabled: false`, and the life of its sessions: an idle session
 * is closed with the sandboxes it created, and so is every session when Bay
 * stops. What the official MCP client does through it: test/e2e/mcp.test.ts.
 */
import { describe, expect, test } from "bun:test";
import { Bay } from "../../src/client/index.ts";
import { CAPABILITIES } from "../../src/composition/registry.ts";
import { McpHttpSessions } from "../../src/mcp/http-sessions.ts";
import { mcpTools } from "../../src/mcp/tools.ts";
import { TEST_API_KEY } from "../helpers/env.ts";
import { expectErrorShape, useMemoryBay } from "../helpers/memory-bay.ts";

const on = useMemoryBay();
const off = useMemoryBay({ config: { mcp: { enabled: false } } });

const HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-06-18" };
const INITIALIZE = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "test", version: "1" } },
};

/** The JSON-RPC answer in a response, whether sent as JSON or as one SSE event. */
async function rpcAnswer(response: Response): Promise<any> {
  const text = await response.text();
  const data = text.split("\n").find((line) => line.startsWith("data: {"));
  return JSON.parse(data ? data.slice("data: ".length) : text);
}

function mcpRequest(body: unknown, sessionId?: string, method = "POST"): Request {
  return new Request("http://localhost/mcp", {
    method,
    headers: { ...HEADERS, authorization: `Bearer ${TEST_API_KEY}`, ...(sessionId ? { "mcp-session-id": sessionId } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

describe("the /mcp door", () => {
  test("is on by default: an initialize with a key opens a session", async () => {
    const response = await on.app.handle(mcpRequest(INITIALIZE));
    expect(response.status).toBe(200);
    expect(response.headers.get("mcp-session-id")).toMatch(/^mcp-[0-9a-f-]{36}$/);
    expect((await rpcAnswer(response)).result.serverInfo.name).toBe("bay");
  });

  test("is Bay's own not-found with mcp.enabled: false", async () => {
    expectErrorShape(await off.request("POST", "/mcp", INITIALIZE, HEADERS), 404, "not_found");
  });
});

describe("MCP sessions over HTTP", () => {
  const callerOf = () => ({ owner: "tester", bay: () => new Bay({ apiKey: TEST_API_KEY, fetch: (request) => on.app.handle(request) }) });
  const open = async (sessions: McpHttpSessions) => {
    const caller = callerOf();
    const opened = await sessions.handle(mcpRequest(INITIALIZE), caller, INITIALIZE);
    const sessionId = opened.headers.get("mcp-session-id")!;
    const initialized = { jsonrpc: "2.0", method: "notifications/initialized" };
    await sessions.handle(mcpRequest(initialized, sessionId), caller, initialized);
    const call = { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "create_sandbox", arguments: {} } };
    const created = await rpcAnswer(await sessions.handle(mcpRequest(call, sessionId), caller, call));
    return { caller, sessionId, sandboxId: created.result.structuredContent.id as string };
  };
  const sandboxStatus = async (id: string) => (await on.request("GET", `/v1/sandboxes/${id}`)).status;

  test("a session without a request for its idle time is closed, and the sandboxes it created are deleted", async () => {
    const sessions = new McpHttpSessions(mcpTools(CAPABILITIES), 400);
    try {
      const { caller, sessionId, sandboxId } = await open(sessions);
      expect(await sandboxStatus(sandboxId)).toBe(200);
      for (let i = 0; i < 50 && sessions.size > 0; i++) await Bun.sleep(100);
      expect(sessions.size).toBe(0);
      expect(await sandboxStatus(sandboxId)).toBe(404);
      const list = { jsonrpc: "2.0", id: 3, method: "tools/list", params: {} };
      expect((await sessions.handle(mcpRequest(list, sessionId), caller, list)).status).toBe(404);
    } finally {
      await sessions.closeAll();
    }
  });

  test("a tool call that runs longer than the idle time keeps its session open", async () => {
    const sessions = new McpHttpSessions(mcpTools(CAPABILITIES), 300);
    try {
      // Bay takes 1.5 s to answer creates: the call outlasts the idle time five times over.
      const slowCreates = (request: Request) =>
        (request.method === "POST" && new URL(request.url).pathname === "/v1/sandboxes" ? Bun.sleep(1500) : Promise.resolve()).then(() => on.app.handle(request));
      const caller = { owner: "tester", bay: () => new Bay({ apiKey: TEST_API_KEY, fetch: slowCreates }) };
      const opened = await sessions.handle(mcpRequest(INITIALIZE), caller, INITIALIZE);
      const sessionId = opened.headers.get("mcp-session-id")!;
      const call = { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "create_sandbox", arguments: {} } };
      const answer = await rpcAnswer(await sessions.handle(mcpRequest(call, sessionId), caller, call));
      expect(answer.result.structuredContent.id).toStartWith("sandbox-");
      expect(sessions.size).toBe(1);
      for (let i = 0; i < 50 && sessions.size > 0; i++) await Bun.sleep(100);
      expect(sessions.size).toBe(0);
      expect(await sandboxStatus(answer.result.structuredContent.id)).toBe(404);
    } finally {
      await sessions.closeAll();
    }
  });

  test("closing them all (Bay stops) deletes every session's sandboxes", async () => {
    const sessions = new McpHttpSessions(mcpTools(CAPABILITIES), 3_600_000);
    const first = await open(sessions);
    const second = await open(sessions);
    expect(sessions.size).toBe(2);
    await sessions.closeAll();
    expect(sessions.size).toBe(0);
    expect(await sandboxStatus(first.sandboxId)).toBe(404);
    expect(await sandboxStatus(second.sandboxId)).toBe(404);
  });
});
