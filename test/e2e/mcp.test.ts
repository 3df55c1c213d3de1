import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { BAY_BINARY, TEST_IMAGE } from "../helpers/env.ts";
import { containersWithLabel, removeInstanceObjects, volumesWithLabel } from "../helpers/docker.ts";

// Real containers start here; each test gets room, and no test asserts speed.
setDefaultTimeout(120_000);

const dataDir = mkdtempSync(join(tmpdir(), "bay-mcp-"));
const instanceId = `test-${randomBytes(4).toString("hex")}`;
const label = `bay.instance_id=${instanceId}`;

afterAll(async () => {
  await removeInstanceObjects(instanceId);
  rmSync(dataDir, { recursive: true, force: true });
});

/** A real MCP client talking to `bay mcp` (embedded mode) over stdio. */
async function connectClient(): Promise<Client> {
  const transport = new StdioClientTransport({
    command: BAY_BINARY,
    args: ["mcp"],
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root", BAY_DATA_DIR: dataDir, BAY_INSTANCE_ID: instanceId, BAY_DEFAULT_IMAGE: TEST_IMAGE },
    stderr: "pipe",
  });
  const client = new Client({ name: "bay-test", version: "1.0.0" });
  await client.connect(transport);
  return client;
}

const textOf = (result: any) => result.content.map((part: any) => part.text).join("");

describe("bay mcp through a real MCP client", () => {
  test("initialize → tools/list → tools/call: Python with state, shell, files; the default sandbox goes away with the session", async () => {
    const client = await connectClient();
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

    expect(textOf(await client.callTool({ name: "run_python", arguments: { code: "x = 41" } }))).toBe("");
    expect(textOf(await client.callTool({ name: "run_python", arguments: { code: "x + 1" } }))).toBe("42\n");
    const failed = await client.callTool({ name: "run_python", arguments: { code: "1/0" } });
    expect(failed.isError).toBe(true);
    expect(textOf(failed)).toContain("ZeroDivisionError");

    const shell = await client.callTool({ name: "run_shell", arguments: { command: "echo hi; exit 3" } });
    expect(shell.isError).toBe(true);
    expect(textOf(shell)).toContain("hi\n");
    expect(textOf(shell)).toContain("[exit code 3]");

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
    expect(containersWithLabel(label).length).toBe(1);

    await client.close();
    for (let i = 0; i < 100 && (containersWithLabel(label).length > 0 || volumesWithLabel(label).length > 0); i++) await Bun.sleep(100);
    expect(containersWithLabel(label)).toEqual([]);
    expect(volumesWithLabel(label)).toEqual([]);
  });

  test("explicit sandboxes: create, use by id, delete; bad arguments and unknown sandboxes are tool errors", async () => {
    const client = await connectClient();
    const created = (await client.callTool({ name: "create_sandbox", arguments: {} })).structuredContent as any;
    expect(created.id).toMatch(/^sandbox-[0-9a-f]{12}$/);
    expect(textOf(await client.callTool({ name: "run_shell", arguments: { command: "echo $((6*7))", sandbox_id: created.id } }))).toContain("42");

    const missing = await client.callTool({ name: "run_python", arguments: { code: "1", sandbox_id: "sandbox-000000000000" } });
    expect(missing.isError).toBe(true);
    expect(textOf(missing)).toContain("not_found");
    const invalid = await client.callTool({ name: "run_python", arguments: { code: 5 } });
    expect(invalid.isError).toBe(true);
    expect(textOf(invalid)).toContain("invalid arguments");
    await expect(client.callTool({ name: "no_such_tool", arguments: {} })).rejects.toThrow();

    expect(textOf(await client.callTool({ name: "delete_sandbox", arguments: { sandbox_id: created.id } }))).toContain("deleted");
    expect(containersWithLabel(`bay.sandbox_id=${created.id}`)).toEqual([]);
    await client.close();
  });
});
