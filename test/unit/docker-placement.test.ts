/**
 * Where Bay runs relative to its engine, and what follows: the connect mode
 * `auto` picks, the paths the engine can mount, the firewall rules that let
 * a containerised Bay reach agents. The end-to-end proof is
 * test/e2e/bay-in-container.test.ts; these pin the decisions one by one.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { engineBridgesLocal, resolveConnectMode } from "../../drivers/docker/connect-mode.ts";
import { controlRuleBridge, controlRules, nameserversIn } from "../../drivers/docker/egress-firewall.ts";
import { HostPaths } from "../../drivers/docker/host-paths.ts";
import { ownContainerCandidates, type OwnContainer } from "../../drivers/docker/own-container.ts";
import type { BayError } from "../../src/shared/errors.ts";

const ID = "5bf4530de1f7b1d6e2c04e9a0c3d2f1e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d";

function own(overrides: Partial<OwnContainer> = {}): OwnContainer {
  return { id: ID, name: "bay-1", imageId: "sha256:abc", hostNetwork: false, networks: [{ name: "bay", bridge: "br-de68e3730a6a" }], mounts: [], ...overrides };
}

function refusal(run: () => unknown): BayError {
  try {
    run();
  } catch (error) {
    return error as BayError;
  }
  throw new Error("expected a refusal");
}

describe("connect mode", () => {
  const auto = { connect_mode: "auto" as const, host_address: "127.0.0.1" };

  test("auto: container addresses where the engine's bridges are local or Bay has a container of its own; published ports elsewhere", () => {
    expect(resolveConnectMode(auto, null, true)).toBe("container_network");
    expect(resolveConnectMode(auto, own({ hostNetwork: true, networks: [] }), true)).toBe("container_network");
    expect(resolveConnectMode(auto, null, false)).toBe("host_port");
    expect(resolveConnectMode(auto, own({ hostNetwork: true, networks: [] }), false)).toBe("host_port");
    expect(resolveConnectMode(auto, own())).toBe("container_network");
  });

  test("the engine's bridges count as local only when the default bridge's interface is in this namespace", () => {
    const here = (names: string[]) => (name: string) => names.includes(name);
    expect(engineBridgesLocal("docker0", here(["lo", "eth0", "docker0"]))).toBe(true);
    // A remote, rootless or VM engine: its bridge is not among this namespace's interfaces.
    expect(engineBridgesLocal("docker0", here(["lo", "eth0"]))).toBe(false);
    // No default bridge network (the engine runs with bridge: none).
    expect(engineBridgesLocal(null, here(["docker0"]))).toBe(false);
    // An option value that is no interface name is not looked up as a path.
    expect(engineBridgesLocal("../../../etc", () => true)).toBe(false);
  });

  test("an explicit host_port is kept where the bridges are local", () => {
    expect(resolveConnectMode({ ...auto, connect_mode: "host_port" }, null, true)).toBe("host_port");
  });

  test("an explicit mode is kept where it works", () => {
    expect(resolveConnectMode({ ...auto, connect_mode: "container_network" }, null)).toBe("container_network");
    expect(resolveConnectMode({ ...auto, connect_mode: "host_port", host_address: "172.17.0.1" }, own())).toBe("host_port");
  });

  test("a mode that cannot work from Bay's container is refused with the reason", () => {
    const loopback = refusal(() => resolveConnectMode({ ...auto, connect_mode: "host_port" }, own()));
    expect(loopback.code).toBe("driver_unavailable");
    expect(loopback.message).toContain("cannot reach");
    const noBridge = refusal(() => resolveConnectMode(auto, own({ networks: [] })));
    expect(noBridge.code).toBe("driver_unavailable");
    expect(noBridge.message).toContain("no bridge network");
  });
});

describe("finding Bay's own container", () => {
  test("the id comes from the engine's files mounted into the container, not from /.dockerenv or the hostname", () => {
    const mountinfo = [
      "1040 1039 0:52 / / rw,relatime - overlay overlay rw",
      `1060 1040 8:1 /var/lib/docker/containers/${ID}/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/sda1 rw`,
      `1061 1040 8:1 /var/lib/docker/containers/${ID}/hostname /etc/hostname rw,relatime - ext4 /dev/sda1 rw`,
    ].join("\n");
    const files: Record<string, string> = { "/proc/self/mountinfo": mountinfo, "/proc/self/cgroup": "0::/\n" };
    expect(ownContainerCandidates((path) => files[path] ?? "")).toEqual([ID]);
  });

  test("on a host (even one with /.dockerenv) there is no candidate", () => {
    const files: Record<string, string> = { "/proc/self/mountinfo": "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n", "/proc/self/cgroup": "0::/init.scope\n" };
    expect(ownContainerCandidates((path) => files[path] ?? "")).toEqual([]);
  });

  test("a cgroup v1 path names the container too", () => {
    const files: Record<string, string> = { "/proc/self/mountinfo": "", "/proc/self/cgroup": `12:pids:/docker/${ID}\n` };
    expect(ownContainerCandidates((path) => files[path] ?? "")).toEqual([ID]);
  });
});

describe("host paths", () => {
  test("on the host a path is the engine's as it is", () => {
    expect(new HostPaths(null).forEngine("/var/lib/bay/sockets/s1", "a socket directory")).toBe("/var/lib/bay/sockets/s1");
  });

  test("in a container a path on a mount becomes the mount's host path, the deepest mount winning", () => {
    const paths = new HostPaths([
      { source: "/var/lib/docker/volumes/bay-data/_data", destination: "/var/lib/bay" },
      { source: "/srv/sockets", destination: "/var/lib/bay/sockets" },
    ]);
    expect(paths.forEngine("/var/lib/bay/account-files/x/passwd", "f")).toBe("/var/lib/docker/volumes/bay-data/_data/account-files/x/passwd");
    expect(paths.forEngine("/var/lib/bay/sockets/s1", "f")).toBe("/srv/sockets/s1");
    expect(paths.forEngine("/var/lib/bay", "f")).toBe("/var/lib/docker/volumes/bay-data/_data");
  });

  test("a path on no mount (or merely sharing a prefix with one) is refused, naming the path", () => {
    const paths = new HostPaths([{ source: "/host/bay", destination: "/var/lib/bay" }]);
    for (const path of ["/tmp/x", "/var/lib/bayonet/x"]) {
      const error = refusal(() => paths.forEngine(path, "the socket directory"));
      expect(error.code).toBe("driver_unavailable");
      expect(error.message).toContain(path);
      expect(error.details).toMatchObject({ reason: "path_not_on_a_mount", path });
    }
  });

  test("an agent binary inside the image is copied once onto the data mount, under its digest, executable", () => {
    const root = mkdtempSync(join(tmpdir(), "bay-host-paths-"));
    try {
      const binary = join(root, "image-bay");
      writeFileSync(binary, "#!/bin/sh\necho agent\n");
      const paths = new HostPaths([{ source: "/host/bay-data", destination: join(root, "data") }]);
      const forEngine = paths.agentBinary(binary, join(root, "data", "agent"));
      expect(forEngine).toMatch(/^\/host\/bay-data\/agent\/bay-[0-9a-f]{16}$/);
      const staged = join(root, "data", "agent", forEngine.split("/").pop()!);
      expect(readFileSync(staged, "utf8")).toBe("#!/bin/sh\necho agent\n");
      expect(statSync(staged).mode & 0o777).toBe(0o755);
      expect(paths.agentBinary(binary, join(root, "data", "agent"))).toBe(forEngine);
      // Without a data directory to copy to, the refusal names the binary.
      expect(refusal(() => new HostPaths([]).agentBinary(binary, undefined)).message).toContain(binary);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test("a version written for the first time is announced (its older copies may go); one already there is not", () => {
    const root = mkdtempSync(join(tmpdir(), "bay-host-paths-"));
    try {
      const announced: string[] = [];
      const stagingDir = join(root, "agent");
      const paths = () => new HostPaths(null, (staged) => announced.push(`${staged.name} ${staged.path.slice(stagingDir.length + 1)}`));
      const first = paths().carriedFile(new TextEncoder().encode("v1"), stagingDir, "slot-holder");
      expect(announced).toEqual([`slot-holder ${first.split("/").pop()}`]);
      // A restart of the same version writes nothing and announces nothing.
      expect(paths().carriedFile(new TextEncoder().encode("v1"), stagingDir, "slot-holder")).toBe(first);
      expect(announced).toHaveLength(1);
      // An upgrade does.
      const second = paths().carriedFile(new TextEncoder().encode("v2"), stagingDir, "slot-holder");
      expect(second).not.toBe(first);
      expect(announced).toEqual([`slot-holder ${first.split("/").pop()}`, `slot-holder ${second.split("/").pop()}`]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test("a carried program is staged 0755, a carried list 0644", () => {
    const root = mkdtempSync(join(tmpdir(), "bay-host-paths-"));
    try {
      const paths = new HostPaths(null, () => undefined);
      const program = paths.carriedFile(new TextEncoder().encode("program"), root, "slot-holder");
      const list = paths.carriedFile(new TextEncoder().encode("/opt/bay/gvisor-statx.so\n"), root, "gvisor-ld.so.preload", 0o644);
      expect([statSync(program).mode & 0o777, statSync(list).mode & 0o777]).toEqual([0o755, 0o644]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("the control plane's firewall rules", () => {
  test("Bay's bridge may open connections to the agent port of sandbox bridges only, and get answers back", () => {
    const [out, back] = controlRules("br-de68e3730a6a", 8123);
    expect(out!.join(" ")).toBe("BAY-CTL -i br-de68e3730a6a -o bay-+ -p tcp --dport 8123 -j ACCEPT");
    expect(back!.join(" ")).toBe("BAY-CTL -i bay-+ -o br-de68e3730a6a -p tcp --sport 8123 -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT");
  });

  test("a listed rule names its Bay bridge, whichever side it is on", () => {
    const listed = (line: string) => controlRuleBridge(line.split(" "));
    expect(listed("-A BAY-CTL -i br-de68e3730a6a -o bay-+ -p tcp -m tcp --dport 8123 -j ACCEPT")).toBe("br-de68e3730a6a");
    expect(listed("-A BAY-CTL -i bay-+ -o br-de68e3730a6a -p tcp -m tcp --sport 8123 -j ACCEPT")).toBe("br-de68e3730a6a");
    expect(listed("-A BAY-CTL -j ACCEPT")).toBeNull();
  });

  test("resolvers are read from the host's resolv.conf texts, loopback ones left out", () => {
    expect(nameserversIn(["nameserver 127.0.0.53\nnameserver 10.0.0.2\n", "# x\nnameserver 10.0.0.2\nnameserver 192.0.2.1\n"])).toEqual(["10.0.0.2", "192.0.2.1"]);
  });
});
