/**
 * `bay mcp` (stdio, embedded) and `bay serve`'s /mcp (streamable HTTP),
 * each driven by the official MCP client: the same tools, structured output
 * checked by the client against each tool's output schema, progress while
 * code runs, cancellation that stops the code in the sandbox, and each
 * session's sandboxes removed when it ends. Then what only HTTP has: the
 * API key, owner scoping of sessions, the session's end on DELETE.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { BAY_BINARY, TEST_IMAGE } from "../helpers/env.ts";
import { containersWithLabel, removeInstanceObjects, volumesWithLabel } from "../helpers/docker.ts";
import { useServeProcess } from "../helpers/serve-process.ts";

// Real containers start here; each test gets room, and no test asserts speed.
setDefaultTimeout(180_000);

const dataDir = mkdtempSync(join(tmpdir(), "bay-mcp-"));
const stdioInstance = `test-${randomBytes(4).toString("hex")}`;

const ALICE_KEY = "mcp-alice-key-0123456789abcdef";
const BOB_KEY = "mcp-bob-key-0123456789abcdef01";
const configFile = join(dataDir, "bay.json");
writeFileSync(
  configFile,
  JSON.stringify({ security: { api_keys: [{ key: ALICE_KEY, owner: "alice" }, { key: BOB_KEY, owner: "bob" }] } }),
);
const server = useServeProcess({}, ["--config", configFile]);

afterAll(async () => {
  await removeInstanceObjects(stdioInstance);
  rmSync(dataDir, { recursive: true, force: true });
});

interface Connected {
  client: Client;
  /** Ends the session the way its transport does: stdin closed, or DELETE. */
  end(): Promise<void>;
}

/** A real MCP client talking to `bay mcp` (embedded mode) over stdio. */
async function overStdio(): Promise<Connected> {
  const transport = new StdioClientTransport({
    command: BAY_BINARY,
    args: ["mcp"],
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/root",
      BAY_DATA_DIR: join(dataDir, "stdio"),
      BAY_INSTANCE_ID: stdioInstance,
      BAY_DEFAULT_IMAGE: TEST_IMAGE,
    },
    stderr: "pipe",
  });
  const client = new Client({ name: "bay-test", version: "1.0.0" });
  await client.connect(transport);
  return { client, end: () => client.close() };
}

/** A real MCP client talking to `bay serve` at /mcp over streamable HTTP. */
async function overHttp(key = ALICE_KEY): Promise<Connected & { transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
    requestInit: { headers: { authorization: `Bearer ${key}` } },
  });
  const client = new Client({ name: "bay-test", version: "1.0.0" });
  await client.connect(transport);
  return {
    client,
    transport,
    end: async () => {
      await transport.terminateSession();
      await client.close();
    },
  };
}

const textOf = (result: any) => result.content.map((part: any) => part.text).join("");

async function waitUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await Bun.sleep(100);
}

describe.each([
  ["stdio", overStdio],
  ["streamable HTTP", () => overHttp()],
] as const)("MCP over %s, with the official client", (_name, connect) => {
  test("tools with input and output schemas; Python with state, shell, files, processes; the default sandbox goes with the session", async () => {
    const { client, end } = await connect();
    expect(client.getServerVersion()?.name).toBe("bay");

    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual(
      [
        "create_sandbox", "delete_sandbox", "list_files", "list_sandboxes", "read_file", "run_python", "run_shell", "write_file",
        "start_process", "process_output", "signal_process",
      ].sort(),
    );
    const runPython = tools.find((tool) => tool.name === "run_python")!;
    expect(runPython.inputSchema.required).toEqual(["code"]);
    expect(Object.keys(runPython.outputSchema!.properties!)).toEqual(expect.arrayContaining(["success", "output", "error", "execution_time_ms"]));
    for (const name of ["run_shell", "read_file", "list_files", "create_sandbox", "list_sandboxes", "start_process"]) {
      expect(tools.find((tool) => tool.name === name)!.outputSchema?.type).toBe("object");
    }

    expect(textOf(await client.callTool({ name: "run_python", arguments: { code: "x = 41" } }))).toBe("");
    const answered = await client.callTool({ name: "run_python", arguments: { code: "x + 1" } });
    expect(textOf(answered)).toBe("42\n");
    // The client has checked it against run_python's output schema already.
    expect(answered.structuredContent).toMatchObject({ success: true, output: "42\n", error: null });
    const failed = await client.callTool({ name: "run_python", arguments: { code: "1/0" } });
    expect(failed.isError).toBe(true);
    expect(textOf(failed)).toContain("ZeroDivisionError");

    const shell = await client.callTool({ name: "run_shell", arguments: { command: "echo hi; exit 3" } });
    expect(shell.isError).toBe(true);
    expect(textOf(shell)).toContain("hi\n");
    expect(textOf(shell)).toContain("[exit code 3]");
    expect(shell.structuredContent).toMatchObject({ exit_code: 3, output: "hi\n" });

    await client.callTool({ name: "write_file", arguments: { path: "notes/a.txt", content: "from mcp" } });
    expect(textOf(await client.callTool({ name: "read_file", arguments: { path: "notes/a.txt" } }))).toBe("from mcp");
    const listing = await client.callTool({ name: "list_files", arguments: { path: "notes" } });
    expect((listing.structuredContent as any).entries.map((e: any) => e.name)).toEqual(["a.txt"]);

    // A background process: started, read back, stopped.
    const started = await client.callTool({ name: "start_process", arguments: { command: "echo from-background; sleep 300" } });
    const pid = (started.structuredContent as any).pid as number;
    expect(textOf(started)).toBe(`started pid ${pid}: echo from-background; sleep 300`);
    let seen = "";
    for (let i = 0; i < 50 && !seen.includes("from-background"); i++, await Bun.sleep(100)) {
      seen = textOf(await client.callTool({ name: "process_output", arguments: { pid } }));
    }
    expect(seen).toContain("from-background\n");
    // A seq counts output bytes: the line is the first output.
    expect(seen).toContain(`[pid ${pid} running; last seq ${"from-background\n".length}]`);
    await client.callTool({ name: "signal_process", arguments: { pid, signal: "SIGTERM" } });
    for (let i = 0; i < 50 && !seen.includes("exited"); i++, await Bun.sleep(100)) {
      seen = textOf(await client.callTool({ name: "process_output", arguments: { pid } }));
    }
    expect(seen).toContain(`[pid ${pid} exited with 143;`);

    // One default sandbox served all of that.
    const sandboxes = (await client.callTool({ name: "list_sandboxes", arguments: {} })).structuredContent as any;
    expect(sandboxes.items.length).toBe(1);
    const sandboxLabel = `bay.sandbox_id=${sandboxes.items[0].id}`;
    expect(containersWithLabel(sandboxLabel).length).toBe(1);

    await end();
    await waitUntil(() => containersWithLabel(sandboxLabel).length === 0 && volumesWithLabel(sandboxLabel).length === 0);
    expect(containersWithLabel(sandboxLabel)).toEqual([]);
    expect(volumesWithLabel(sandboxLabel)).toEqual([]);
  });

  test("a long run reports its output as progress, and a cancelled call stops the code in the sandbox", async () => {
    const { client, end } = await connect();
    const progress: string[] = [];
    const result = await client.callTool(
      { name: "run_python", arguments: { code: "import time\nfor i in range(3):\n    print(f'step {i}', flush=True)\n    time.sleep(0.3)" } },
      undefined,
      { onprogress: (update) => progress.push(update.message ?? "") },
    );
    expect(textOf(result)).toBe("step 0\nstep 1\nstep 2\n");
    expect(progress.join("")).toBe("step 0\nstep 1\nstep 2\n");

    // Python: cancelled while it runs, the cell is interrupted and the kernel is free for the next call, state kept.
    await client.callTool({ name: "run_python", arguments: { code: "kept = 'yes'; reached_end = False" } });
    const cancelPython = new AbortController();
    const python = client.callTool(
      { name: "run_python", arguments: { code: "import time\nprint('started', flush=True)\ntime.sleep(60)\nreached_end = True", timeout: 120 } },
      undefined,
      { signal: cancelPython.signal, onprogress: (update) => update.message?.includes("started") && cancelPython.abort() },
    );
    await expect(python).rejects.toThrow();
    // Had the cell gone on, this would wait for it and print True.
    expect(textOf(await client.callTool({ name: "run_python", arguments: { code: "print(reached_end, kept)" } }))).toBe("False yes\n");

    // Shell: cancelled while it runs, its process group is killed.
    const cancelShell = new AbortController();
    const shell = client.callTool(
      { name: "run_shell", arguments: { command: "echo started; sleep 77; touch finished" } },
      undefined,
      { signal: cancelShell.signal, onprogress: (update) => update.message?.includes("started") && cancelShell.abort() },
    );
    await expect(shell).rejects.toThrow();
    let left = "";
    for (let i = 0; i < 50; i++, await Bun.sleep(100)) {
      left = textOf(await client.callTool({ name: "run_shell", arguments: { command: "pgrep -f 'sleep 77' || echo none" } }));
      if (left.startsWith("none")) break;
    }
    expect(left).toStartWith("none");
    await end();
  });

  test("explicit sandboxes: create, use by id, delete; bad arguments and unknown sandboxes are tool errors", async () => {
    const { client, end } = await connect();
    const created = (await client.callTool({ name: "create_sandbox", arguments: {} })).structuredContent as any;
    expect(created.id).toMatch(/^sandbox-[0-9a-f]{12}$/);
    expect(textOf(await client.callTool({ name: "run_shell", arguments: { command: "echo $((6*7))", sandbox_id: created.id } }))).toContain("42");

    const missing = await client.callTool({ name: "run_python", arguments: { code: "1", sandbox_id: "sandbox-000000000000" } });
    expect(missing.isError).toBe(true);
    expect(textOf(missing)).toContain("not_found");
    const invalid = await client.callTool({ name: "run_python", arguments: { code: 5 } });
    expect(invalid.isError).toBe(true);
    expect(textOf(invalid)).toContain("invalid arguments");
    await expect(client.callTool({ name: "no_such_tool", arguments: {} })).rejects.toThrow(/unknown tool/);

    expect(textOf(await client.callTool({ name: "delete_sandbox", arguments: { sandbox_id: created.id } }))).toContain("deleted");
    expect(containersWithLabel(`bay.sandbox_id=${created.id}`)).toEqual([]);
    await end();
  });
});

describe("/mcp on bay serve", () => {
  const initialize = {
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "curl", version: "1" } },
  };
  const post = (headers: Record<string, string>, body: unknown = initialize) =>
    fetch(`${server.url}/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
      body: JSON.stringify(body),
    });

  test("needs an API key: none or a wrong one is 401 in Bay's error envelope", async () => {
    for (const headers of [{}, { authorization: "Bearer not-a-key-of-this-bay" }] as Record<string, string>[]) {
      const response = await post(headers);
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toContain("Bearer");
      const body = (await response.json()) as any;
      expect(body.error.code).toBe("unauthorized");
      expect(body.error.request_id).toBeString();
    }
  });

  test("a session is its owner's: another owner's key cannot use it, and sees only its own sandboxes", async () => {
    const alice = await overHttp(ALICE_KEY);
    const aliceSandbox = (await alice.client.callTool({ name: "create_sandbox", arguments: {} })).structuredContent as any;
    const sessionId = alice.transport.sessionId!;

    const asBob = await post(
      { authorization: `Bearer ${BOB_KEY}`, "mcp-session-id": sessionId, "mcp-protocol-version": "2025-06-18" },
      { jsonrpc: "2.0", id: 2, method: "tools/list", params: {} },
    );
    expect(asBob.status).toBe(404);

    const bob = await overHttp(BOB_KEY);
    expect(((await bob.client.callTool({ name: "list_sandboxes", arguments: {} })).structuredContent as any).items).toEqual([]);
    const denied = await bob.client.callTool({ name: "run_shell", arguments: { command: "true", sandbox_id: aliceSandbox.id } });
    expect(denied.isError).toBe(true);
    expect(textOf(denied)).toContain("not_found");
    await bob.end();

    // DELETE ends alice's session: its id is unknown afterwards, and the sandbox it created is gone.
    await alice.end();
    const after = await post(
      { authorization: `Bearer ${ALICE_KEY}`, "mcp-session-id": sessionId, "mcp-protocol-version": "2025-06-18" },
      { jsonrpc: "2.0", id: 3, method: "tools/list", params: {} },
    );
    expect(after.status).toBe(404);
    await waitUntil(() => containersWithLabel(`bay.sandbox_id=${aliceSandbox.id}`).length === 0);
    expect(containersWithLabel(`bay.sandbox_id=${aliceSandbox.id}`)).toEqual([]);
  });

  test("a request without a session that is not an initialize opens none", async () => {
    const response = await post({ authorization: `Bearer ${ALICE_KEY}` }, { jsonrpc: "2.0", id: 1, method: "tools/list", params: {} });
    expect(response.status).toBe(400);
    expect(response.headers.get("mcp-session-id")).toBeNull();
    const get = await fetch(`${server.url}/mcp`, { headers: { authorization: `Bearer ${ALICE_KEY}`, accept: "text/event-stream" } });
    expect(get.status).toBe(400);
  });
});
