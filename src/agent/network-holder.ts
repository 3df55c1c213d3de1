/**
 * The process of a network slot's holder container (drivers/docker/network-slots.ts).
 * It keeps a network namespace made ahead of time that one sandbox later
 * joins, and ends itself so that its container (auto-removed) never outlives
 * its use, whatever happens to the Bay that made it:
 * - while unclaimed, after its ready lifetime;
 * - once the sandbox's agent has listened in the namespace, when that agent
 *   has stopped listening (its container ended or was removed).
 * It watches the namespace through /proc/net, which shows the sockets of the
 * network namespace of whoever reads it, and once the agent has shown up,
 * by trying to bind the agent's port.
 */
import { readFileSync } from "node:fs";

/** How the sandbox's agent shows in the namespace. */
export type AgentListener = { port: number } | { socket: string };

export interface HoldOptions {
  readySeconds: number;
  agent: AgentListener;
  /**
   * How often the namespace is looked at until the agent shows up. Bay
   * removes holders itself in every normal flow; these looks are for when it
   * cannot (it died), so they are rare: each wakes a process per sandbox.
   * A sandbox that lived less than this, removed while Bay was down, leaves
   * its holder until the ready lifetime ends.
   */
  probeMs?: number;
  /** How often once it has: only to notice its end. */
  claimedProbeMs?: number;
  /** Consecutive looks without the agent after which it counts as gone (an agent never stops listening while it lives). */
  missesToEnd?: number;
}

const TCP_LISTEN = "0A";
/** __SO_ACCEPTCON in /proc/net/unix: a listening socket. */
const UNIX_ACCEPTING = 0x10000;

/*
 * The tables list every socket of the namespace: under load thousands of the
 * sandbox's connections. The holder runs without a JIT, so it looks for
 * its one line with a substring search instead of parsing each line.
 */

/** Whether a TCP socket listens on `port` in a /proc/net/tcp{,6} table: local port, no remote end, state LISTEN. */
export function tcpListens(table: string, port: number): boolean {
  const wanted = port.toString(16).toUpperCase().padStart(4, "0");
  return table.includes(`:${wanted} 00000000:0000 ${TCP_LISTEN} `) || table.includes(`:${wanted} ${"0".repeat(32)}:0000 ${TCP_LISTEN} `);
}

/** Whether a unix socket listens at `path` in a /proc/net/unix table. */
export function unixListens(table: string, path: string): boolean {
  for (let at = table.indexOf(` ${path}`); at >= 0; at = table.indexOf(` ${path}`, at + 1)) {
    const end = at + path.length + 1;
    if (end < table.length && table[end] !== "\n") continue;
    const fields = table.slice(table.lastIndexOf("\n", at) + 1, end).trim().split(/\s+/);
    if (fields[7] === path && (Number.parseInt(fields[3] ?? "0", 16) & UNIX_ACCEPTING) !== 0) return true;
  }
  return false;
}

function readTable(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/**
 * Whether the agent's port is taken, by trying to take it: O(1) in the
 * kernel, where reading /proc/net/tcp under load formats thousands of the
 * sandbox's connections. Only once the agent has been seen listening: it
 * binds its port once, at its start, so a bind that succeeds now can only
 * mean that it is gone (and the port is let go at once). Bay's agent binds
 * as root without address sharing, so the holder's bind (as nobody) cannot
 * join its socket.
 */
export function portTaken(port: number): boolean {
  try {
    Bun.listen({ hostname: "0.0.0.0", port, socket: { data() {} } }).stop(true);
    return false;
  } catch {
    // In use: the agent lives. Any other failure is no proof that it is gone.
    return true;
  }
}

/** Whether the agent listens in the namespace; `claimed`: it has been seen listening before. */
export function agentListening(agent: AgentListener, claimed: boolean): boolean {
  if ("socket" in agent) return unixListens(readTable("/proc/net/unix"), agent.socket);
  if (claimed) return portTaken(agent.port);
  return tcpListens(readTable("/proc/net/tcp"), agent.port) || tcpListens(readTable("/proc/net/tcp6"), agent.port);
}

/** Resolves when the holder's work is over: the caller exits, and the engine removes the container. */
export function holdNetwork(
  options: HoldOptions,
  listening: (claimed: boolean) => boolean = (claimed) => agentListening(options.agent, claimed),
): Promise<string> {
  const probeMs = options.probeMs ?? 5000;
  const claimedProbeMs = options.claimedProbeMs ?? 10_000;
  const missesToEnd = options.missesToEnd ?? 3;
  const readyUntil = Date.now() + options.readySeconds * 1000;
  return new Promise((resolve) => {
    let claimed = false;
    let misses = 0;
    const look = () => {
      if (listening(claimed)) {
        claimed = true;
        misses = 0;
      } else if (!claimed && Date.now() >= readyUntil) {
        return resolve("never claimed");
      } else if (claimed && ++misses >= missesToEnd) {
        return resolve("its sandbox ended");
      }
      setTimeout(look, claimed ? claimedProbeMs : probeMs);
    };
    setTimeout(look, probeMs);
  });
}
