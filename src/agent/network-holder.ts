/**
 * The process of a network slot's holder container (drivers/docker/network-slots.ts).
 * It keeps a network namespace made ahead of time that one sandbox later
 * joins, and ends itself so that its container (auto-removed) never outlives
 * its use, whatever happens to the Bay that made it:
 * - while unclaimed, after its ready lifetime;
 * - once the sandbox's agent has listened in the namespace, when that agent
 *   has stopped listening (its container ended or was removed).
 * It watches the namespace through /proc/net, which shows the sockets of the
 * network namespace of whoever reads it.
 */
import { readFileSync } from "node:fs";

/** How the sandbox's agent shows in the namespace. */
export type AgentListener = { port: number } | { socket: string };

export interface HoldOptions {
  readySeconds: number;
  agent: AgentListener;
  /** How often the namespace is looked at. */
  probeMs?: number;
  /** Consecutive looks without the agent after which it counts as gone (an agent never stops listening while it lives). */
  missesToEnd?: number;
}

const TCP_LISTEN = "0A";
/** __SO_ACCEPTCON in /proc/net/unix: a listening socket. */
const UNIX_ACCEPTING = 0x10000;

/** Whether a TCP socket listens on `port` in a /proc/net/tcp{,6} table. */
export function tcpListens(table: string, port: number): boolean {
  const wanted = port.toString(16).toUpperCase().padStart(4, "0");
  return table
    .split("\n")
    .slice(1)
    .some((line) => {
      const fields = line.trim().split(/\s+/);
      return fields[1]?.endsWith(`:${wanted}`) === true && fields[3] === TCP_LISTEN;
    });
}

/** Whether a unix socket listens at `path` in a /proc/net/unix table. */
export function unixListens(table: string, path: string): boolean {
  return table
    .split("\n")
    .slice(1)
    .some((line) => {
      const fields = line.trim().split(/\s+/);
      return fields[7] === path && (Number.parseInt(fields[3] ?? "0", 16) & UNIX_ACCEPTING) !== 0;
    });
}

function readTable(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

export function agentListening(agent: AgentListener): boolean {
  if ("socket" in agent) return unixListens(readTable("/proc/net/unix"), agent.socket);
  return tcpListens(readTable("/proc/net/tcp"), agent.port) || tcpListens(readTable("/proc/net/tcp6"), agent.port);
}

/** Resolves when the holder's work is over: the caller exits, and the engine removes the container. */
export function holdNetwork(options: HoldOptions, listening: () => boolean = () => agentListening(options.agent)): Promise<string> {
  // Often enough to see even a sandbox that lives a second; a look is two small reads.
  const probeMs = options.probeMs ?? 1000;
  const missesToEnd = options.missesToEnd ?? 3;
  const readyUntil = Date.now() + options.readySeconds * 1000;
  return new Promise((resolve) => {
    let claimed = false;
    let misses = 0;
    const timer = setInterval(() => {
      if (listening()) {
        claimed = true;
        misses = 0;
        return;
      }
      if (!claimed) {
        if (Date.now() < readyUntil) return;
        clearInterval(timer);
        resolve("never claimed");
        return;
      }
      if (++misses < missesToEnd) return;
      clearInterval(timer);
      resolve("its sandbox ended");
    }, probeMs);
  });
}
