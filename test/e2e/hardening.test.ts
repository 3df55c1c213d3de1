import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { sessions } from "../../src/db/schema.ts";
import { eq } from "drizzle-orm";
import { useTestBay } from "../helpers/test-bay.ts";
import { containersWithLabel, inspectContainer } from "../helpers/docker.ts";
import { enginePidsLimit, READ_ONLY_REFUSAL, RUNTIME_BINDS, TEST_IMAGE, TEST_RUNTIME } from "../helpers/env.ts";
import { AGENT_CAPABILITIES } from "../../src/shared/agent-protocol.ts";

// Real containers start here; each test gets room, and no test asserts speed.
setDefaultTimeout(120_000);

const bay = useTestBay({
  config: {
    profiles: [
      { id: "python-default", image: TEST_IMAGE },
      { id: "locked-down", image: TEST_IMAGE, security: { read_only_rootfs: true }, resources: { pids_limit: 64, memory: "128m", cpus: 0.5 } },
      { id: "offline", image: TEST_IMAGE, network: "none" },
    ],
  },
});

async function sandboxOf(profile: string): Promise<string> {
  return (await bay.request("POST", "/v1/sandboxes", { profile })).body.id;
}
const shell = async (id: string, command: string, timeout = 30) =>
  (await bay.request("POST", `/v1/sandboxes/${id}/shell/exec`, { command, timeout })).body;
const python = async (id: string, code: string, timeout = 30) =>
  (await bay.request("POST", `/v1/sandboxes/${id}/python/exec`, { code, timeout })).body;
const containerOf = (id: string) => inspectContainer(containersWithLabel(`bay.sandbox_id=${id}`)[0]!);

describe("hardened by default", () => {
  test("capabilities dropped but the agent's, no-new-privileges, limits, no host paths but the agent, and proof from inside", async () => {
    const id = await sandboxOf("python-default");
    // no_new_privs as the kernel answers it (prctl): gVisor's status file has no NoNewPrivs line.
    const inside = await shell(
      id,
      "id -u; id -G; grep -E '^(CapEff|CapBnd)' /proc/self/status; python3 -c 'import ctypes; print(\"NoNewPrivs:\", ctypes.CDLL(None).prctl(39, 0, 0, 0, 0))'; ls /var/run/docker.sock 2>&1 | head -1",
    );
    const [uid, groups, capEff, capBnd, noNewPrivs] = inside.output.split("\n");
    expect(uid).toBe("1000");
    expect(groups).toBe("1000");
    expect(capEff).toMatch(/^CapEff:\s+0+$/);
    // The container's capabilities are the agent's; user code's bounding set is emptied.
    expect(capBnd).toMatch(/^CapBnd:\s+0+$/);
    expect(noNewPrivs).toMatch(/^NoNewPrivs:\s+1$/);
    expect(inside.output).toContain("No such file or directory");

    const host = containerOf(id).HostConfig;
    expect(host.CapDrop).toEqual(["ALL"]);
    expect([...host.CapAdd].sort()).toEqual([...AGENT_CAPABILITIES].sort());
    expect(host.SecurityOpt).toContain("no-new-privileges");
    expect(host.Privileged).toBe(false);
    expect(host.PidsLimit).toBe(enginePidsLimit(512));
    expect(host.Memory).toBe(1024 ** 3);
    expect(host.NanoCpus).toBe(1e9);
    // The agent, the account files that name the sandbox user and the session's directory (its token), read-only;
    // under gVisor the statx shim; nothing else of the host.
    const binds = ["/etc/group:ro", "/etc/passwd:ro", "/opt/bay/bay:ro", "/run/bay:ro", ...RUNTIME_BINDS].sort();
    expect(host.Binds.map((bind: string) => bind.split(":").slice(1).join(":")).sort()).toEqual(binds);
    expect(containerOf(id).Mounts.map((m: any) => m.Destination).sort()).toEqual([...binds.map((bind) => bind.split(":")[0]), "/workspace"].sort());
  });

  test("a read-only root filesystem profile: /etc and /usr refuse writes, /workspace and /tmp take them", async () => {
    const id = await sandboxOf("locked-down");
    const result = await shell(
      id,
      "touch /etc/x; touch /usr/x; echo ok > /workspace/w && echo workspace-ok; echo ok > /tmp/t && echo tmp-ok; awk '$2 == \"/\" { split($4, o, \",\"); print \"root \" o[1] }' /proc/mounts",
    );
    // Whichever refusal the runtime's kernel gives first, the root is mounted read-only.
    expect(result.error).toContain(`touch: cannot touch '/etc/x': ${READ_ONLY_REFUSAL}`);
    expect(result.error).toContain(`touch: cannot touch '/usr/x': ${READ_ONLY_REFUSAL}`);
    expect(result.output).toBe("workspace-ok\ntmp-ok\nroot ro\n");
    expect(containerOf(id).HostConfig.ReadonlyRootfs).toBe(true);
    expect(Object.keys(containerOf(id).HostConfig.Tmpfs)).toEqual(["/tmp"]);
    // Python works there too (its kernel writes nothing outside /tmp and /workspace).
    expect((await python(id, "6 * 7")).output).toBe("42\n");
  });

  test("a fork bomb is stopped by the pids limit; the sandbox and Bay stay healthy", async () => {
    const id = await sandboxOf("locked-down");
    // Runs until its timeout kills the whole process group, bomb included.
    const bomb = await bay.request("POST", `/v1/sandboxes/${id}/shell/exec`, { command: "bomb() { bomb | bomb & }; bomb; sleep 60", timeout: 5 });
    if (TEST_RUNTIME === "gvisor") {
      // Capped at pids_limit inside (gvisor.test.ts proves the cap), but gVisor's ptrace platform keeps making host
      // threads for failed forks: a bomb that goes on long enough reaches the engine's limit and ends that sandbox.
      expect(bomb.status === 200 ? bomb.body.exit_code : bomb.body.error.details.reason).toBeOneOf([-1, "container_died"]);
    } else {
      expect(bomb.body.exit_code).toBe(-1);
      expect(bomb.body.error).toMatch(/fork|Resource temporarily unavailable|retry/i);
    }
    expect(containerOf(id).HostConfig.PidsLimit).toBe(enginePidsLimit(64));
    // Bay stayed healthy throughout, and the sandbox answers again, with no part of the bomb left running
    // (under gVisor one kill of the group misses children caught mid-fork; the agent kills until none is left).
    expect((await bay.request("GET", "/health")).body.status).toBe("ok");
    const survivors = await shell(
      id,
      'n=0; for d in /proc/[0-9]*; do [ "${d#/proc/}" = "$$" ] && continue; read -r c < "$d/comm" 2>/dev/null && [ "$c" = bash ] && n=$((n + 1)); done; echo "alive, $n left"',
    );
    expect(survivors.output).toBe("alive, 0 left\n");
  });

  test("allocating past the memory limit kills only that sandbox's code", async () => {
    const id = await sandboxOf("locked-down");
    const other = await sandboxOf("python-default");
    expect((await python(other, "survivor = 'yes'")).success).toBe(true);
    const hog = await bay.request("POST", `/v1/sandboxes/${id}/python/exec`, {
      code: "block = bytearray(600 * 1024 * 1024)\nblock[::4096] = b'x' * len(block[::4096])\n'done'",
      timeout: 30,
    });
    if (TEST_RUNTIME === "gvisor") {
      // gVisor's sandbox is one host process tree: the host's OOM killer ends all of it, and the call says so.
      expect([hog.status, hog.body.error?.details?.reason]).toEqual([502, "container_died"]);
    } else {
      // The kernel was killed or refused the memory; the agent carries on.
      expect([hog.status, hog.body.success]).toEqual([200, false]);
    }
    // The sandbox answers again (on a new container under gVisor), and the other sandbox carries on.
    expect((await python(id, "1 + 1")).output).toBe("2\n");
    expect((await python(other, "survivor")).output).toBe("'yes'\n");
    expect((await bay.request("GET", "/health")).body.status).toBe("ok");
  });
});

describe("network policy", () => {
  test("with network none the code cannot open a connection, yet Bay drives the agent through a unix socket", async () => {
    const id = await sandboxOf("offline");
    const attempt = await python(
      id,
      "import socket\ntry:\n    socket.create_connection(('1.1.1.1', 53), timeout=3)\n    print('connected')\nexcept OSError as e:\n    print('refused', e.errno)",
    );
    expect(attempt.output).toMatch(/^refused \d+\n$/);
    expect((await shell(id, "ls /sys/class/net")).output).toBe("lo\n");
    const container = containerOf(id);
    expect(container.HostConfig.NetworkMode).toBe("none");
    expect(container.NetworkSettings.Ports ?? {}).toEqual({});
    const session = bay.core.db.select().from(sessions).where(eq(sessions.sandboxId, id)).all().find((s) => s.status === "running")!;
    expect(session.endpoint).toMatch(/^unix:\/\/.*\/sessions\/sess-[0-9a-f]{12}\/agent\.sock$/);
    // Stopping removes the socket directory with the container.
    await bay.request("POST", `/v1/sandboxes/${id}/stop`);
    expect(await Bun.file(session.endpoint!.slice("unix://".length)).exists()).toBe(false);
  });

  test("with network none, a long quiet execution over the socket is not cut by an idle timeout", async () => {
    const id = await sandboxOf("offline");
    const result = await shell(id, "sleep 15; echo still-connected", 60);
    expect(result).toMatchObject({ success: true, output: "still-connected\n" });
  });

  test("another container on the sandbox's network cannot drive its agent: unreachable, and without the token refused", async () => {
    const id = await sandboxOf("python-default");
    await shell(id, "true");
    const [network, settings] = Object.entries(containerOf(id).NetworkSettings.Networks as Record<string, { IPAddress: string }>)[0]!;
    const probe = Bun.spawnSync(
      [
        "docker", "run", "--rm", "--network", network, "--entrypoint", "python3", TEST_IMAGE, "-c",
        [
          "import urllib.request, urllib.error, json",
          `for path, data in (('/meta', None), ('/shell/exec', json.dumps({'command': 'id'}).encode())):`,
          `    req = urllib.request.Request('http://${settings.IPAddress}:8123' + path, data=data, headers={'content-type': 'application/json', 'authorization': 'Bearer guess'})`,
          "    try:",
          "        print(urllib.request.urlopen(req, timeout=5).status)",
          "    except urllib.error.HTTPError as e:",
          "        print(e.code)",
          "    except OSError:",
          "        print('unreachable')",
        ].join("\n"),
      ],
      { stdout: "pipe", stderr: "pipe" },
    );
    const outcomes = probe.stdout.toString().trim().split("\n");
    expect(outcomes).toHaveLength(2);
    for (const outcome of outcomes) expect(["401", "unreachable"]).toContain(outcome);
  });
});
