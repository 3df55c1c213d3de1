/**
 * The holder of a network slot (src/agent/network-holder.ts): how it tells
 * that its sandbox's agent listens in the namespace, and when it ends.
 * test/security/network-policy.test.ts runs real holders under Bay.
 */
import { describe, expect, test } from "bun:test";
import { holdNetwork, portTaken, tcpListens, unixListens } from "../../src/agent/network-holder.ts";
import { parseHoldArgs } from "../../src/cli/hold.ts";

const TCP = [
  "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
  "   0: 00000000:1FBB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 574 1 0000000000000000 100 0 0 10 0",
  "   1: 0100007F:A1B2 0100007F:0050 01 00000000:00000000 00:00000000 00000000  1000        0 575 1 0000000000000000 20 4 30 10 -1",
].join("\n");

const UNIX = [
  "Num       RefCount Protocol Flags    Type St Inode Path",
  "0000000090078d11: 00000002 00000000 00010000 0001 01 4565662 /run/bay/agent.sock",
  "0000000090078d12: 00000003 00000000 00000000 0001 03 4565663 /run/bay/client.sock",
  "0000000090078d13: 00000002 00000000 00000000 0002 01 4565664",
].join("\n");

describe("what the holder sees in /proc/net", () => {
  test("a TCP socket listening on the agent's port, and not a connection that merely involves another port", () => {
    expect(tcpListens(TCP, 8123)).toBe(true);
    // Port 0xA1B2 appears, but connected (state 01), not listening.
    expect(tcpListens(TCP, 0xa1b2)).toBe(false);
    // Port 80 appears only as the remote end.
    expect(tcpListens(TCP, 80)).toBe(false);
    expect(tcpListens(TCP.split("\n")[0]!, 8123)).toBe(false);
    // The same in /proc/net/tcp6, whose addresses are 32 digits.
    expect(tcpListens("   0: 00000000000000000000000000000000:1FBB 00000000000000000000000000000000:0000 0A 00000000:00000000", 8123)).toBe(true);
  });

  test("a unix socket listening at the agent's path, not one merely bound or connected, nor one whose path only starts the same", () => {
    expect(unixListens(UNIX, "/run/bay/agent.sock")).toBe(true);
    expect(unixListens(UNIX.replace("/run/bay/agent.sock", "/run/bay/agent.sock.old"), "/run/bay/agent.sock")).toBe(false);
    expect(unixListens(UNIX, "/run/bay/client.sock")).toBe(false);
    expect(unixListens(UNIX, "/run/bay/other.sock")).toBe(false);
  });
});

describe("how the holder tells that a claimed sandbox's agent still listens", () => {
  test("its port cannot be taken while a socket listens on it, and can once that socket is gone", () => {
    const agent = Bun.listen({ hostname: "0.0.0.0", port: 0, socket: { data() {} } });
    const port = agent.port;
    expect(portTaken(port)).toBe(true);
    // Asking did not disturb the listener.
    expect(portTaken(port)).toBe(true);
    agent.stop(true);
    expect(portTaken(port)).toBe(false);
    // …and the probe let the port go again.
    expect(portTaken(port)).toBe(false);
  });
});

describe("when the holder ends", () => {
  const fast = { agent: { port: 8123 }, probeMs: 5, claimedProbeMs: 5, missesToEnd: 3 };

  test("unclaimed: after its ready lifetime", async () => {
    expect(await holdNetwork({ ...fast, readySeconds: 0.05 }, () => false)).toBe("never claimed");
  });

  test("claimed: once the agent has stopped listening for several looks, not at one miss", async () => {
    const looks = [true, true, false, true, false, false, false];
    const claimedAt: boolean[] = [];
    let look = 0;
    const ended = await holdNetwork({ ...fast, readySeconds: 0.001 }, (claimed) => (claimedAt.push(claimed), looks[look++] ?? false));
    expect(ended).toBe("its sandbox ended");
    // The single miss at the third look did not end it; the three in a row from the fifth did.
    expect(look).toBe(7);
    // Each look after the first knew that the agent had been seen (the holder then probes its port instead of /proc).
    expect(claimedAt).toEqual([false, true, true, true, true, true, true]);
  });

  test("claimed: its ready lifetime no longer applies while the agent listens", async () => {
    let looks = 0;
    const held = holdNetwork({ ...fast, readySeconds: 0.01 }, () => ++looks < 40);
    const early = await Promise.race([held, Bun.sleep(100).then(() => "still holding")]);
    expect(early).toBe("still holding");
    expect(await held).toBe("its sandbox ended");
    expect(looks).toBeGreaterThanOrEqual(42);
  });
});

describe("bay hold's arguments", () => {
  test("a port or a socket, with a ready lifetime", () => {
    expect(parseHoldArgs(["--ready-seconds", "1800", "--agent-port", "8123"])).toEqual({ readySeconds: 1800, agent: { port: 8123 } });
    expect(parseHoldArgs(["--agent-socket", "/run/bay/agent.sock", "--ready-seconds", "5"])).toEqual({ readySeconds: 5, agent: { socket: "/run/bay/agent.sock" } });
  });

  test("anything else is the usage, not a holder that never ends or watches nothing", () => {
    for (const args of [[], ["--agent-port", "8123"], ["--ready-seconds", "0", "--agent-port", "8123"], ["--ready-seconds", "60"], ["--ready-seconds", "60", "--agent-port", "99999"], ["--ready-seconds", "60", "--agent-port"], ["--bogus", "1"]]) {
      expect(parseHoldArgs(args)).toStartWith("usage: bay hold");
    }
  });
});
