import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { statSync } from "node:fs";
import { and, eq } from "drizzle-orm";
import { sessions } from "../../src/db/schema.ts";
import { AGENT_SOCKET_NAME, SANDBOX_GID, SANDBOX_UID } from "../../src/shared/agent-protocol.ts";
import { shellQuote } from "../../src/agent/profile-env.ts";
import { useTestBay } from "../helpers/test-bay.ts";
import { BAY_BINARY, TEST_IMAGE, TEST_RUNTIME } from "../helpers/env.ts";

// Real containers; no test asserts speed.
setDefaultTimeout(120_000);

const bay = useTestBay({
  config: {
    profiles: [
      { id: "python-default", image: TEST_IMAGE },
      { id: "offline", image: TEST_IMAGE, network: "none" },
    ],
  },
});

/** A sandbox whose session is already running. */
async function sandboxOf(profile = "python-default"): Promise<string> {
  const created = await bay.request("POST", "/v1/sandboxes", { profile });
  expect(created.status).toBe(201);
  await shell(created.body.id, "true");
  return created.body.id;
}

async function shell(id: string, command: string, timeout = 60) {
  const result = await bay.request("POST", `/v1/sandboxes/${id}/shell/exec`, { command, timeout });
  expect(result.status).toBe(200);
  return result.body as { output: string; error: string; exit_code: number };
}

async function python(id: string, code: string) {
  const result = await bay.request("POST", `/v1/sandboxes/${id}/python/exec`, { code, timeout: 60 });
  expect(result.status).toBe(200);
  return result.body as { success: boolean; output: string; error: string | null };
}

function runningSession(id: string) {
  return bay.core.db.select().from(sessions).where(and(eq(sessions.sandboxId, id), eq(sessions.status, "running"))).get()!;
}

/** As root in the container (with the container's capabilities, CHOWN among them). */
function asContainerRoot(id: string, command: string): void {
  const result = Bun.spawnSync(["docker", "exec", "-u", "0", runningSession(id).containerId!, "sh", "-c", command], {
    stderr: "pipe",
  });
  if (result.exitCode !== 0) throw new Error(`docker exec failed (${result.exitCode}): ${result.stderr.toString()}`);
}

/** Python that finds the agent (`/opt/bay/bay ship …`) from inside the sandbox. */
const FIND_AGENT = [
  "import os",
  "def _argv(pid):",
  "    try:",
  "        return open(f'/proc/{pid}/cmdline', 'rb').read().split(b'\\0')",
  "    except OSError:",
  "        return []",
  "agent = next(int(p) for p in os.listdir('/proc') if p.isdigit() and _argv(p)[:2] == [b'/opt/bay/bay', b'ship'])",
].join("\n");

/** The capability sets /proc/<pid>/status shows: gVisor's has no CapAmb line (KERNEL_ANSWERS asks the kernel instead). */
const CAPABILITY_SETS = ["CapInh", "CapPrm", "CapEff", "CapBnd", ...(TEST_RUNTIME === "runc" ? ["CapAmb"] : [])];
/** What the kernel itself says of the calling process (prctl), under either runtime: no ambient capability, no_new_privs set. */
const KERNEL_ANSWERS = [
  "import ctypes",
  "prctl = ctypes.CDLL(None, use_errno=True).prctl",
  "ambient = [cap for cap in range(64) if prctl(47, 1, cap, 0, 0) == 1]",
  "print('ambient', ambient, 'no_new_privs', prctl(39, 0, 0, 0, 0))",
].join("\n");

describe("user code runs apart from the agent", () => {
  test("from python and from the shell: uid, gid and groups 1000, every capability set empty (the bounding set too), no_new_privs", async () => {
    const id = await sandboxOf();
    const fromShell = await shell(id, `id -u; id -g; id -G; python3 -c ${shellQuote(KERNEL_ANSWERS)}; cat /proc/self/status`);
    const [uid, gid, groups, shellKernel, ...status] = fromShell.output.split("\n");
    expect({ uid, gid, groups }).toEqual({ uid: "1000", gid: "1000", groups: "1000" });
    const fromPython = await python(
      id,
      `import os\nprint(os.getuid(), os.getgid(), sorted(set(os.getgroups()) | {os.getgid()}))\n${KERNEL_ANSWERS}\nprint(open('/proc/self/status').read())`,
    );
    const [ids, pythonKernel, ...pythonStatus] = fromPython.output.split("\n");
    expect(ids).toBe("1000 1000 [1000]");
    expect([shellKernel, pythonKernel]).toEqual(["ambient [] no_new_privs 1", "ambient [] no_new_privs 1"]);

    for (const lines of [status, pythonStatus]) {
      const field = (name: string) => lines.find((line) => line.startsWith(`${name}:`))?.split(/\s+/).slice(1).join(" ").trim();
      expect(Object.fromEntries(CAPABILITY_SETS.map((name) => [name, field(name)]))).toEqual(
        Object.fromEntries(CAPABILITY_SETS.map((name) => [name, "0000000000000000"])),
      );
      expect(field("NoNewPrivs")).toBe(TEST_RUNTIME === "runc" ? "1" : undefined);
      expect(field("Uid")).toBe("1000 1000 1000 1000");
      expect(field("Gid")).toBe("1000 1000 1000 1000");
      expect(field("Groups") ?? "").toMatch(/^(1000)?$/);
    }

    const session = runningSession(id);
    const meta = await (await fetch(`${session.endpoint}/meta`, { headers: { authorization: `Bearer ${session.token}` } })).json();
    expect((meta as any).sandbox_user).toEqual({ uid: SANDBOX_UID, gid: SANDBOX_GID, isolation: "no_capabilities" });
  });

  test("user code can neither signal nor trace the agent, nor read its memory or environment", async () => {
    const id = await sandboxOf();
    const before = runningSession(id).id;
    const attempts = await python(
      id,
      [
        FIND_AGENT,
        "import ctypes, errno",
        "outcomes = {}",
        "for name, attempt in (('kill', lambda: os.kill(agent, 9)), ('signal0', lambda: os.kill(agent, 0)),",
        "                      ('environ', lambda: open(f'/proc/{agent}/environ', 'rb').read()),",
        "                      ('mem', lambda: open(f'/proc/{agent}/mem', 'rb').read(1)),",
        "                      ('fds', lambda: os.listdir(f'/proc/{agent}/fd'))):",
        "    try:",
        "        attempt()",
        "        outcomes[name] = 'allowed'",
        "    except OSError as e:",
        "        outcomes[name] = errno.errorcode[e.errno]",
        "libc = ctypes.CDLL(None, use_errno=True)",
        "PTRACE_ATTACH = 16",
        "outcomes['ptrace'] = 'allowed' if libc.ptrace(PTRACE_ATTACH, agent, None, None) == 0 else errno.errorcode[ctypes.get_errno()]",
        "print(outcomes)",
        // Where the runtime lists them (gVisor): none of the agent's descriptors opens but its stdin (/dev/null).
        "opened = []",
        "for fd in (outcomes['fds'] == 'allowed' and os.listdir(f'/proc/{agent}/fd')) or []:",
        "    try:",
        "        os.close(os.open(f'/proc/{agent}/fd/{fd}', os.O_RDONLY | os.O_NONBLOCK))",
        "        opened.append(int(fd))",
        "    except OSError:",
        "        pass",
        "print('opened', opened)",
      ].join("\n"),
    );
    // gVisor's /proc lets the agent's environment (the image's, as user code has it; the token is a file) and its
    // descriptors' names be read: what its kernel shows, not a way in (the token test below scans everything).
    const readable = TEST_RUNTIME === "gvisor" ? "allowed" : "EACCES";
    expect(attempts.output).toBe(
      `{'kill': 'EPERM', 'signal0': 'EPERM', 'environ': '${readable}', 'mem': 'EACCES', 'fds': '${readable}', 'ptrace': 'EPERM'}\n` +
        `opened ${TEST_RUNTIME === "gvisor" ? "[0]" : "[]"}\n`,
    );
    const agentPid = (await python(id, `${FIND_AGENT}\nprint(agent)`)).output.trim();
    expect(agentPid).toMatch(/^\d+$/);
    const fromShell = await shell(id, `kill -9 ${agentPid}`);
    expect(fromShell.exit_code).not.toBe(0);
    expect(fromShell.error).toContain("Operation not permitted");
    // The same agent still answers: nothing was restarted behind the scenes.
    expect((await shell(id, "echo alive")).output).toBe("alive\n");
    expect(runningSession(id).id).toBe(before);
  });

  test("after many commands, every thread of the agent still has the sandbox user's effective ids (root is only ever the spawning thread's, for the spawn)", async () => {
    const id = await sandboxOf();
    for (let i = 0; i < 20; i++) await shell(id, "true");
    const started = await bay.request("POST", `/v1/sandboxes/${id}/processes`, { argv: ["sleep", "1"] });
    expect(started.status).toBe(200);
    const threads = await python(
      id,
      [
        FIND_AGENT,
        "import glob",
        "for task in sorted(glob.glob(f'/proc/{agent}/task/*/status')):",
        "    fields = dict(line.split(':', 1) for line in open(task).read().splitlines() if ':' in line)",
        "    print(' '.join(fields['Uid'].split()), '|', ' '.join(fields['Gid'].split()))",
      ].join("\n"),
    );
    const lines = threads.output.trim().split("\n");
    expect(lines.length).toBeGreaterThan(1);
    // Real and saved ids root (so user code cannot signal or trace it), effective and filesystem ids the sandbox user's.
    expect(new Set(lines)).toEqual(new Set(["0 1000 0 1000 | 0 1000 0 1000"]));
  });

  test("a workspace its user made private still runs commands there and below it", async () => {
    const id = await sandboxOf();
    await shell(id, "mkdir -p deep/er && chmod 700 /workspace");
    try {
      expect((await shell(id, "pwd; id -u")).output).toBe("/workspace\n1000\n");
      for (const [cwd, expected] of [[".", "/workspace"], ["deep/er", "/workspace/deep/er"]]) {
        const started = await bay.request("POST", `/v1/sandboxes/${id}/processes`, { argv: ["pwd"], cwd });
        expect([started.status, started.body.error?.message]).toEqual([200, undefined]);
        const pid = started.body.pid as number;
        await bay.request("POST", `/v1/sandboxes/${id}/processes/wait`, { pid });
        const output = await bay.request("GET", `/v1/sandboxes/${id}/processes/output?pid=${pid}`);
        expect(output.body.chunks.map((chunk: { data: string }) => chunk.data).join("")).toBe(`${expected}\n`);
      }
    } finally {
      await shell(id, "chmod 755 /workspace");
    }
  });

  test("the session token is in nothing user code can read: not in any environment or command line, and its file is root's", async () => {
    const id = await sandboxOf();
    const token = runningSession(id).token;
    const scan = await python(
      id,
      [
        "import glob",
        "found, refused = [], []",
        "paths = glob.glob('/proc/[0-9]*/environ') + glob.glob('/proc/[0-9]*/cmdline') + glob.glob('/proc/[0-9]*/task/*/environ')",
        "for path in paths + ['/run/bay/token']:",
        "    try:",
        `        if ${JSON.stringify(token)}.encode() in open(path, 'rb').read(): found.append(path)`,
        "    except OSError:",
        "        refused.append(path)",
        "print(found, '/run/bay/token' in refused, any(path.endswith('/environ') for path in refused))",
      ].join("\n"),
    );
    // Refusals prove the token's file was tried and kept closed, not skipped; under runc the agent's environment too
    // (gVisor shows every environment, and no environment holds the token).
    expect(scan.output).toBe(`[] True ${TEST_RUNTIME === "runc" ? "True" : "False"}\n`);
  });

  test("the agent's binary cannot be replaced, removed or written", async () => {
    const id = await sandboxOf();
    const attempt = await shell(
      id,
      "cp /bin/true /opt/bay/bay; echo cp=$?; echo x >> /opt/bay/bay; echo append=$?; rm -f /opt/bay/bay; echo rm=$?; mv /opt/bay/bay /tmp/bay; echo mv=$?; stat -c %s /opt/bay/bay",
    );
    expect(attempt.output).toBe(`cp=1\nappend=1\nrm=1\nmv=1\n${statSync(BAY_BINARY).size}\n`);
  });

  test("a timed-out command's whole process group is killed, though the agent holds no CAP_KILL", async () => {
    const id = await sandboxOf();
    const timedOut = await shell(id, "sleep 300 & sleep 301", 1);
    expect(timedOut.exit_code).toBe(-1);
    const sleeping = await shell(id, "grep -l '^sleep' /proc/[0-9]*/comm 2>/dev/null | wc -l");
    expect(sleeping.output).toBe("0\n");
  });
});

describe("the socket directory of network none", () => {
  test("user code cannot remove, replace or add anything there, and Bay keeps reaching the agent", async () => {
    const id = await sandboxOf("offline");
    const attempt = await shell(
      id,
      [
        "rm -f /run/bay/agent.sock; echo rm=$?",
        "mv /run/bay/agent.sock /run/bay/moved; echo mv=$?",
        "touch /run/bay/filler; echo touch=$?",
        "ln -s /var/run/docker.sock /run/bay/link; echo ln=$?",
        "python3 -c \"import socket; socket.socket(socket.AF_UNIX).bind('/run/bay/impostor')\" 2>/dev/null; echo bind=$?",
        "ls /run/bay; echo ls=$?",
      ].join("\n"),
    );
    expect(attempt.output).toBe("rm=1\nmv=1\ntouch=1\nln=1\nbind=1\nls=2\n");

    const socketPath = runningSession(id).endpoint!.slice("unix://".length);
    const directory = statSync(socketPath.slice(0, -AGENT_SOCKET_NAME.length - 1));
    expect({ uid: directory.uid, mode: (directory.mode & 0o777).toString(8) }).toEqual({ uid: 0, mode: "700" });
    expect((statSync(socketPath).mode & 0o777).toString(8)).toBe("600");
    expect((await shell(id, "echo still-reached")).output).toBe("still-reached\n");
  });
});

describe("file operations through the API act as the sandbox user", () => {
  const files = (id: string) => `/v1/sandboxes/${id}/filesystem`;

  test("what the API writes belongs to uid 1000, and user code may change and delete it", async () => {
    const id = await sandboxOf();
    expect((await bay.request("PUT", `${files(id)}/files`, { path: "api/nested/written.txt", content: "from the API\n" })).status).toBe(200);
    const form = new FormData();
    form.set("path", "api/uploaded/blob.bin");
    form.set("file", new Blob([new Uint8Array([1, 2, 3])]), "blob.bin");
    expect((await bay.raw("POST", `${files(id)}/upload`, form)).status).toBe(200);

    const owners = await shell(id, "stat -c '%n %u:%g' api api/nested api/nested/written.txt api/uploaded api/uploaded/blob.bin");
    expect(owners.output).toBe(
      ["api", "api/nested", "api/nested/written.txt", "api/uploaded", "api/uploaded/blob.bin"].map((p) => `${p} 1000:1000\n`).join(""),
    );
    const changed = await shell(id, "echo 'from user code' >> api/nested/written.txt && cat api/nested/written.txt && rm -r api && echo removed");
    expect(changed.output).toBe("from the API\nfrom user code\nremoved\n");
  });

  test("what user code makes private, the API still reads, lists and deletes", async () => {
    const id = await sandboxOf();
    await shell(id, "mkdir -p private && echo 'mine' > private/note.txt && chmod 600 private/note.txt && chmod 700 private");
    expect((await bay.request("GET", `${files(id)}/files?path=private/note.txt`)).body.content).toBe("mine\n");
    const listed = await bay.request("GET", `${files(id)}/directories?path=private`);
    expect(listed.body.entries.map((entry: { name: string }) => entry.name)).toEqual(["note.txt"]);
    // A shell command may run in the private directory, as the user could cd there.
    expect((await bay.request("POST", `/v1/sandboxes/${id}/shell/exec`, { command: "pwd", cwd: "private" })).body.output).toBe(
      "/workspace/private\n",
    );
    expect((await bay.request("DELETE", `${files(id)}/files?path=private/note.txt`)).status).toBe(200);
    expect((await shell(id, "ls -A private")).output).toBe("");
  });

  test("the API has the sandbox user's rights only: a root-owned file or directory in /workspace stays closed to it", async () => {
    const id = await sandboxOf();
    await shell(id, "echo secret > root-only.txt && chmod 600 root-only.txt && mkdir -m 755 root-dir");
    // Root owns them now: the agent would pass as their owner if it worked with root's identity.
    asContainerRoot(id, "chown 0:0 /workspace/root-only.txt /workspace/root-dir");
    const read = await bay.request("GET", `${files(id)}/files?path=root-only.txt`);
    expect({ status: read.status, code: read.body.error?.code, message: read.body.error?.message }).toEqual({
      status: 422,
      code: "validation_error",
      message: "permission denied on root-only.txt",
    });
    const write = await bay.request("PUT", `${files(id)}/files`, { path: "root-dir/planted.txt", content: "x" });
    expect({ status: write.status, code: write.body.error?.code }).toEqual({ status: 422, code: "validation_error" });
    expect((await shell(id, "ls -A root-dir")).output).toBe("");
  });
});
