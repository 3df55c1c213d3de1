/**
 * A capability's operations, declared once in its folder, reach the SDK,
 * `bay mcp` and `bay call` without an edit in any of them: shown here with
 * a capability that exists only in this test.
 */
import { describe, expect, test } from "bun:test";
import { Type } from "@sinclair/typebox";
import { Bay } from "../../src/client/index.ts";
import { CAPABILITIES } from "../../src/composition/registry.ts";
import { sandboxOperation } from "../../src/kit/capability.ts";
import { McpSession } from "../../src/mcp/session.ts";
import { callTool, capabilityTools, mcpTools } from "../../src/mcp/tools.ts";

const SAY = sandboxOperation({
  name: "echo.say",
  method: "POST",
  path: "/echo/say",
  input: Type.Object({ text: Type.String({ minLength: 1 }) }),
  output: Type.Object({ said: Type.String() }),
  summary: "Say something back",
  tool: { name: "say", description: "Says the text back", present: (output) => ({ text: `said: ${output.said}` }) },
});

const HEARD = sandboxOperation({
  name: "echo.heard",
  method: "GET",
  path: "/echo/heard",
  input: Type.Object({ since: Type.Optional(Type.Integer()) }),
  output: Type.Object({ lines: Type.Array(Type.String()) }),
  summary: "What was said",
  safeToRepeat: true,
});

const ECHO = { operations: [SAY, HEARD] };

/** A Bay whose transport records each request and answers from `answer`. */
function recordingBay(answer: (request: Request) => Response) {
  const seen: { method: string; url: string; body: string }[] = [];
  const bay = new Bay({
    url: "http://bay.test",
    apiKey: "k",
    attempts: 2,
    fetch: async (request) => {
      seen.push({ method: request.method, url: request.url, body: await request.text() });
      return answer(request);
    },
  });
  return { bay, seen };
}

describe("a capability's operations", () => {
  test("the SDK runs a body operation at its path with its input as JSON", async () => {
    const { bay, seen } = recordingBay(() => Response.json({ said: "hi" }));
    expect(await bay.run(SAY, "sandbox-1", { text: "hi" })).toEqual({ said: "hi" });
    expect(seen).toEqual([{ method: "POST", url: "http://bay.test/v1/sandboxes/sandbox-1/echo/say", body: '{"text":"hi"}' }]);
  });

  test("the SDK sends a GET operation's input as its query, and retries it (safe to repeat) after a 503", async () => {
    let calls = 0;
    const { bay, seen } = recordingBay(() =>
      ++calls === 1 ? Response.json({ error: { code: "session_not_ready", message: "wait", request_id: "r", details: {} } }, { status: 503, headers: { "retry-after": "0" } }) : Response.json({ lines: ["a"] }),
    );
    expect(await bay.run(HEARD, "sandbox-1", { since: 3 })).toEqual({ lines: ["a"] });
    expect(seen.map((request) => `${request.method} ${request.url}`)).toEqual([
      "GET http://bay.test/v1/sandboxes/sandbox-1/echo/heard?since=3",
      "GET http://bay.test/v1/sandboxes/sandbox-1/echo/heard?since=3",
    ]);
  });

  test("an operation that is not safe to repeat is sent once, whatever the answer", async () => {
    const { bay, seen } = recordingBay(() => Response.json({ error: { code: "ship_error", message: "x", request_id: "r", details: {} } }, { status: 502 }));
    await expect(bay.run(SAY, "sandbox-1", { text: "hi" })).rejects.toMatchObject({ code: "ship_error" });
    expect(seen).toHaveLength(1);
  });

  test("an operation that names a tool becomes an MCP tool: its input plus sandbox_id, answered as it presents itself", async () => {
    const tools = capabilityTools([ECHO]);
    expect(tools.map((tool) => tool.name)).toEqual(["say"]);
    expect(Object.keys(tools[0]!.inputSchema.properties).sort()).toEqual(["sandbox_id", "text"]);
    const { bay, seen } = recordingBay(() => Response.json({ said: "hello" }));
    const session = new McpSession(bay);
    session.defaultSandbox = async () => "sandbox-default";
    const result = await callTool(tools, "say", { text: "hello" }, session);
    expect(result).toEqual({ content: [{ type: "text", text: "said: hello" }], structuredContent: { said: "hello" } });
    expect(seen[0]!.url).toBe("http://bay.test/v1/sandboxes/sandbox-default/echo/say");
    const refused = await callTool(tools, "say", { text: "" }, session);
    expect(refused.isError).toBe(true);
    expect(seen).toHaveLength(1);
  });

  test("the installed capabilities' tools are the ones bay mcp lists, next to the sandbox tools", () => {
    const derived = capabilityTools(CAPABILITIES).map((tool) => tool.name);
    expect(derived.sort()).toEqual(["list_files", "process_output", "read_file", "run_python", "run_shell", "signal_process", "start_process", "write_file"]);
    expect(mcpTools(CAPABILITIES).map((tool) => tool.name)).toEqual(expect.arrayContaining(derived));
  });

  test("every installed operation's name starts with its capability's, and names are unique", () => {
    const names = CAPABILITIES.flatMap((capability) => capability.operations.map((operation) => [capability.name, operation.name] as const));
    for (const [capability, operation] of names) expect(operation.startsWith(`${capability}.`)).toBe(true);
    expect(new Set(names.map(([, operation]) => operation)).size).toBe(names.length);
  });
});
