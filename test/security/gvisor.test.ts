/**
 * The second wall: profiles with `runtime: gvisor` run their sandboxes
 * under gVisor's runsc (registered in the engine by scripts/bootstrap.sh
 * --test), against the real engine. Bay's core flow works there as under
 * runc, and user code meets gVisor's kernel, not the host's: its release,
 * its /proc, no host kernel interfaces, and its processes are not the
 * host's. A profile asking for a runtime the engine lacks stops Bay at
 * start-up, saying how to register it.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { useTestBay, startTestBay } from "../helpers/test-bay.ts";
import { containersWithLabel, inspectContainer } from "../helpers/docker.ts";
import { TEST_API_KEY, TEST_IMAGE } from "../helpers/env.ts";
import { startOutsideHost, type OutsideHost } from "../helpers/outside-hosts.ts";

setDefaultTimeout(180_000);

const bay = useTestBay({
  config: {
    profiles: [
      { id: "python-default", image: TEST_IMAGE },
      { id: "gvisor", image: TEST_IMAGE, runtime: "gvisor", resources: { pids_limit: 64, memory: "256m" } },
      { id: "gvisor-offline", image: TEST_IMAGE, runtime: "gvisor", network: "none" },
      { id: "gvisor-listed", image: TEST_IMAGE, runtime: "gvisor", network: { allow: ["203.0.113.10:8090"] } },
    ],
  },
});

/** A host "outside" the sandboxes, in a network namespace of the test's own (traffic never leaves this machine). */
let outside: OutsideHost;
beforeAll(async () => {
  outside = await startOutsideHost("203.0.113", 10, [8090, 8091]);
});
afterAll(async () => {
  await outside?.close();
});

const sandboxOf = async (profile: string) => {
  const created = await bay.request("POST", "/v1/sandboxes", { profile });
  expect(created.status).toBe(201);
  return created.body.id as string;
};
const shell = async (id: string, command: string, timeout = 60) => (await bay.request("POST", `/v1/sandboxes/${id}/shell/exec`, { command, timeout })).body;
const python = async (id: string, code: string, timeout = 60) => (await bay.request("POST", `/v1/sandboxes/${id}/python/exec`, { code, timeout })).body;
const containerOf = (id: string) => inspectContainer(containersWithLabel(`bay.sandbox_id=${id}`)[0]!);
const hostKernelRelease = Bun.spawnSync(["uname", "-r"]).stdout.toString().trim();

/** Whether a host process's command line contains `marker` (the host's own view of its processes). */
function hostHasProcess(marker: string): boolean {
  return Bun.spawnSync(["pgrep", "-f", marker]).exitCode === 0;
}

describe("a profile with runtime: gvisor", () => {
  test("is listed with its runtime, and its container runs under the engine's runsc", async () => {
    const profiles = (await bay.request("GET", "/v1/profiles")).body.items;
    expect(profiles.find((profile: any) => profile.id === "gvisor").runtime).toBe("gvisor");
    expect(profiles.find((profile: any) => profile.id === "python-default").runtime).toBe("runc");
    const id = await sandboxOf("gvisor");
    expect((await shell(id, "true")).exit_code).toBe(0);
    expect(containerOf(id).HostConfig.Runtime).toBe("runsc");
    const runc = await sandboxOf("python-default");
    expect((await shell(runc, "true")).exit_code).toBe(0);
    expect(containerOf(runc).HostConfig.Runtime).toBe("runc");
  });

  test("the core flow: Python with state, interrupts and restarts, shell with group kill, files and uploads, stop and resume", async () => {
    const id = await sandboxOf("gvisor");
    expect((await python(id, "x = 6")).success).toBe(true);
    expect((await python(id, "print(x * 7)")).output).toBe("42\n");
    const timedOut = await python(id, "import time\nwhile True: time.sleep(0.1)", 2);
    expect(timedOut.success).toBe(false);
    expect(timedOut.error).toContain("timed out");
    expect((await python(id, "print(x)")).output).toBe("6\n");
    const context = (await bay.request("POST", `/v1/sandboxes/${id}/python/contexts`, {})).body;
    expect((await bay.request("POST", `/v1/sandboxes/${id}/python/exec`, { code: "print('ctx')", context_id: context.id })).body.output).toBe("ctx\n");
    expect((await bay.request("POST", `/v1/sandboxes/${id}/python/contexts/restart`, { id: "default" })).status).toBe(200);
    expect((await python(id, "print('x' in globals())")).output).toBe("False\n");

    // Streamed output (SSE) as under runc.
    const streamed = await bay.app.handle(
      new Request(`http://localhost/v1/sandboxes/${id}/python/exec`, {
        method: "POST",
        headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json", accept: "text/event-stream" },
        body: JSON.stringify({ code: "print('streamed', flush=True)" }),
      }),
    );
    const events = await streamed.text();
    expect(events).toContain('event: stdout\ndata: {"text":"streamed');
    expect(events).toContain("event: done");

    // A command's whole process group goes when it times out.
    const grouped = await shell(id, "sleep 300 & echo $! > pids; sleep 301 & echo $! >> pids; wait", 2);
    expect(grouped.exit_code).toBe(-1);
    expect(grouped.error).toContain("process group was killed");
    expect((await shell(id, "for pid in $(cat pids); do kill -0 $pid 2>/dev/null && echo alive $pid; done; echo checked")).output).toBe("checked\n");

    expect((await bay.request("PUT", `/v1/sandboxes/${id}/filesystem/files`, { path: "a/b.txt", content: "under gvisor" })).status).toBe(200);
    expect((await shell(id, "cat a/b.txt")).output).toBe("under gvisor");
    const form = new FormData();
    form.set("path", "upload.bin");
    form.set("file", new Blob([new Uint8Array([0, 1, 2, 255])]), "upload.bin");
    expect((await bay.raw("POST", `/v1/sandboxes/${id}/filesystem/upload`, form)).status).toBe(200);
    expect((await bay.raw("GET", `/v1/sandboxes/${id}/filesystem/download?path=upload.bin`)).bytes).toEqual(new Uint8Array([0, 1, 2, 255]));

    // Stop and resume: the workspace stays, the session is new.
    expect((await bay.request("POST", `/v1/sandboxes/${id}/stop`)).status).toBe(200);
    expect(containersWithLabel(`bay.sandbox_id=${id}`)).toEqual([]);
    expect((await shell(id, "cat a/b.txt")).output).toBe("under gvisor");
    expect(containerOf(id).HostConfig.Runtime).toBe("runsc");
  });

  test("limits hold: user code's processes are capped inside and the sandbox keeps its state; memory past the limit ends that sandbox alone", async () => {
    const id = await sandboxOf("gvisor");
    const bystander = await sandboxOf("gvisor");
    expect((await python(id, "kept = 'yes'")).success).toBe(true);
    expect((await python(bystander, "kept = 'too'")).success).toBe(true);
    // gVisor's kernel counts processes per sandbox: the agent caps user code's at pids_limit (RLIMIT_NPROC, hard).
    expect((await shell(id, "ulimit -u; ulimit -Hu")).output).toBe("64\n64\n");
    // A hundred at once: the cap refuses what is past it at once (EAGAIN).
    const burst = await python(
      id,
      [
        "import subprocess",
        "started = []",
        "try:",
        "    for _ in range(100): started.append(subprocess.Popen(['sleep', '30'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))",
        "except OSError as error:",
        "    print('refused', error.errno)",
        "print('started', len(started))",
        "for process in started: process.kill(); process.wait()",
      ].join("\n"),
    );
    const [refused, started] = burst.output.trim().split("\n");
    expect(refused).toBe("refused 11");
    expect(Number(started!.split(" ")[1])).toBeGreaterThan(50);
    expect(Number(started!.split(" ")[1])).toBeLessThanOrEqual(64);
    // The same container carries on: the Python state is still there.
    expect((await python(id, "kept")).output).toBe("'yes'\n");
    // The engine's limit counts the sentry's host threads, scaled past a bomb's peak (docker-driver.ts).
    expect(containerOf(id).HostConfig.PidsLimit).toBe(256 + 64 * 16);

    // Past the memory limit the host ends the whole gVisor sandbox, and the call says so; the next call works.
    const hog = await bay.request("POST", `/v1/sandboxes/${id}/python/exec`, { code: "block = bytearray(600 * 1024 * 1024)\nblock[::4096] = b'x' * len(block[::4096])\n'done'", timeout: 60 });
    expect([hog.status, hog.body.error?.details?.reason]).toEqual([502, "container_died"]);
    expect((await python(id, "1 + 1")).output).toBe("2\n");
    expect((await python(bystander, "kept")).output).toBe("'too'\n");
  });

  test("network: an allow list applies under gVisor as under runc; none leaves only loopback, and user code cannot reach the agent's socket", async () => {
    const listed = await sandboxOf("gvisor-listed");
    const reach = await python(
      listed,
      [
        "import urllib.request",
        "for port in (8090, 8091):",
        "    try:",
        "        print(urllib.request.urlopen(f'http://203.0.113.10:{port}/', timeout=3).read().decode())",
        "    except OSError:",
        "        print('refused', port)",
      ].join("\n"),
    );
    expect(reach.output).toBe("outside 203.0.113.10:8090\nrefused 8091\n");
    expect(containerOf(listed).HostConfig.Runtime).toBe("runsc");
    const offline = await sandboxOf("gvisor-offline");
    const inside = await python(
      offline,
      "import socket\nprint(sorted(name for _, name in socket.if_nameindex()))\ntry:\n    probe = socket.socket(socket.AF_UNIX)\n    probe.connect('/run/bay/agent.sock')\n    print('reached the agent')\nexcept OSError:\n    print('refused')",
    );
    expect(inside.output).toBe("['lo']\nrefused\n");
    expect(containerOf(offline).HostConfig.NetworkMode).toMatch(/^(none|container:)/);
    expect(containerOf(offline).HostConfig.Runtime).toBe("runsc");
  });

  test("user code sees gVisor's kernel, not the host's: release, /proc, kernel interfaces, processes", async () => {
    const gvisor = await sandboxOf("gvisor");
    const runc = await sandboxOf("python-default");
    const probe = "uname -r; head -c 40 /proc/version; echo; for p in /proc/kallsyms /sys/kernel/debug /proc/sys/kernel/osrelease; do test -e $p && echo present || echo absent; done";
    const [runcRelease, runcVersion, ...runcInterfaces] = (await shell(runc, probe)).output.trim().split("\n");
    const [gvisorRelease, gvisorVersion, ...gvisorInterfaces] = (await shell(gvisor, probe)).output.trim().split("\n");
    // Under runc, the host's own kernel answers; under gVisor, the sentry does.
    expect(runcRelease).toBe(hostKernelRelease);
    expect(gvisorRelease).not.toBe(hostKernelRelease);
    expect(runcVersion).toContain(hostKernelRelease);
    expect(gvisorVersion).not.toContain(hostKernelRelease);
    expect(runcInterfaces).toEqual(["present", "present", "present"]);
    expect(gvisorInterfaces).toEqual(["absent", "absent", "absent"]);
    expect((await shell(gvisor, "dmesg 2>&1 | head -1")).output).toContain("gVisor");

    // A process of user code: a host process under runc, not one under gVisor, where it runs all the same.
    const marker = `sleep 31${Math.floor(Math.random() * 900 + 100)}`;
    await bay.request("POST", `/v1/sandboxes/${runc}/processes`, { command: marker });
    const walled = (await bay.request("POST", `/v1/sandboxes/${gvisor}/processes`, { command: `${marker}1` })).body;
    for (let i = 0; i < 50 && !hostHasProcess(`${marker}$`); i++) await Bun.sleep(100);
    expect(hostHasProcess(`${marker}$`)).toBe(true);
    await Bun.sleep(500);
    expect((await bay.request("GET", `/v1/sandboxes/${gvisor}/processes/status?pid=${walled.pid}`)).body.running).toBe(true);
    expect(hostHasProcess(`${marker}1`)).toBe(false);
  });
});

describe("the session token under gVisor", () => {
  test("is in no environment, though gVisor's /proc shows them all to user code, and its file is root's alone", async () => {
    const id = await sandboxOf("gvisor");
    const scan = await python(
      id,
      [
        "import glob",
        "environments = glob.glob('/proc/[0-9]*/environ')",
        "holding = [path for path in environments if b'BAY_SHIP_TOKEN' in open(path, 'rb').read()]",
        "try:",
        "    open('/run/bay/token').read()",
        "    token_file = 'read'",
        "except PermissionError:",
        "    token_file = 'refused'",
        "print(len(environments) > 2, holding, token_file)",
      ].join("\n"),
    );
    expect(scan.output).toBe("True [] refused\n");
  });
});

describe("a warm pool under gVisor", () => {
  test("fills with gVisor sandboxes; a create claims one, which runs code at once on the same container", async () => {
    const pooled = await startTestBay({
      background: true,
      config: { profiles: [{ id: "gvisor-warm", image: TEST_IMAGE, runtime: "gvisor", warm_pool_size: 1 }] },
    });
    try {
      let ready = 0;
      for (let i = 0; i < 600 && ready < 1; i++) {
        ready = (await pooled.core.pool.readySizes())[0]!.ready;
        if (ready < 1) await Bun.sleep(100);
      }
      expect(ready).toBe(1);
      const created = (await pooled.request("POST", "/v1/sandboxes", { profile: "gvisor-warm" })).body;
      expect(created.status).toBe("ready");
      const [container] = containersWithLabel(`bay.sandbox_id=${created.id}`);
      expect(inspectContainer(container!).HostConfig.Runtime).toBe("runsc");
      const ran = (await pooled.request("POST", `/v1/sandboxes/${created.id}/shell/exec`, { command: "uname -r; ls -ld /workspace | cut -c1-10" })).body;
      expect(ran.output).not.toContain(hostKernelRelease);
      expect(ran.output).toContain("drwxr-xr-x");
      expect(containersWithLabel(`bay.sandbox_id=${created.id}`)).toEqual([container!]);
    } finally {
      await pooled.close();
    }
  });
});

describe("a runtime the engine does not have", () => {
  test("stops Bay at start-up with how to register it; no sandbox falls back to runc", async () => {
    const started = startTestBay({
      config: {
        driver: { docker: { gvisor_runtime: "bay-test-missing-runtime" } },
        profiles: [{ id: "walled", image: TEST_IMAGE, runtime: "gvisor" }],
      },
    });
    const error = await started.then(
      (opened) => opened.close().then(() => null),
      (failure: Error) => failure,
    );
    expect(error?.message).toContain('"bay-test-missing-runtime"');
    expect(error?.message).toContain("/etc/docker/daemon.json");
    expect(error?.message).toContain("--network=host");
  });
});
