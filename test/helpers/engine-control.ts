import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Stops, starts and freezes the machine's Docker engine, or a stand-in for it.
 * scripts/bootstrap.sh starts dockerd in the background the same way.
 */
export function engineAnswers(): boolean {
  return Bun.spawnSync(["docker", "info"], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
}

async function until(condition: () => boolean, seconds: number, what: string): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (condition()) return;
    await Bun.sleep(200);
  }
  throw new Error(`timed out waiting for ${what}`);
}

export async function stopEngine(): Promise<void> {
  Bun.spawnSync(["pkill", "-TERM", "-x", "dockerd"]);
  await until(() => !engineAnswers() && Bun.spawnSync(["pgrep", "-x", "dockerd"]).exitCode !== 0, 60, "dockerd to stop");
}

export async function startEngine(): Promise<void> {
  if (engineAnswers()) return;
  const child = Bun.spawn(["sh", "-c", "nohup dockerd >>/var/log/bay-dockerd.log 2>&1 &"], { stdio: ["ignore", "ignore", "ignore"] });
  await child.exited;
  await until(engineAnswers, 60, "dockerd to answer");
}

/**
 * A unix socket in front of the real engine that can be frozen: while frozen
 * it accepts connections and holds every byte in both directions, as a
 * SIGSTOP'd dockerd would; thawed, it delivers them in order. Bay pointed at
 * it (driver.docker.socket) sees a hung engine while other users of the
 * machine's engine see nothing.
 */
export interface EngineProxy {
  socket: string;
  freeze(): void;
  /** With `dropHeld`, what was held is lost and its connections cut, as by an engine that restarted. */
  thaw(options?: { dropHeld?: boolean }): void;
  close(): void;
}

export async function startEngineProxy(target = "/var/run/docker.sock"): Promise<EngineProxy> {
  const dir = mkdtempSync(join(tmpdir(), "bay-engine-proxy-"));
  const socket = join(dir, "docker.sock");
  let frozen = false;
  let held: Array<() => void> = [];
  const connections = new Set<Socket>();
  const gate = (deliver: () => void) => (frozen ? held.push(deliver) : deliver());
  const server = createServer((client) => {
    const upstream = connect(target);
    for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
      connections.add(from);
      from.on("data", (chunk) => gate(() => to.write(chunk)));
      from.on("end", () => gate(() => to.end()));
      from.on("close", () => gate(() => to.destroy()));
      from.on("error", () => undefined);
    }
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return {
    socket,
    freeze() {
      frozen = true;
    },
    thaw({ dropHeld = false } = {}) {
      const pending = held;
      held = [];
      if (dropHeld) {
        for (const connection of connections) connection.destroy();
        connections.clear();
      }
      frozen = false;
      if (!dropHeld) for (const deliver of pending) deliver();
    },
    close() {
      server.close();
      for (const connection of connections) connection.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Freezes the machine's real dockerd (SIGSTOP) while `work` runs, and always
 * resumes it (SIGCONT). Every user of the engine on this machine waits
 * meanwhile: keep `work` short.
 */
export async function withEngineFrozen<T>(work: () => Promise<T>): Promise<T> {
  const pid = Bun.spawnSync(["pgrep", "-x", "dockerd"]).stdout.toString().trim().split("\n")[0];
  if (!pid) throw new Error("dockerd is not running");
  process.kill(Number(pid), "SIGSTOP");
  try {
    // The signal takes effect asynchronously: `work` starts once the kernel says every thread is stopped.
    await untilStopped(Number(pid));
    return await work();
  } finally {
    process.kill(Number(pid), "SIGCONT");
  }
}

/** Waits until every thread of `pid` is in the stopped state (T), for at most 5 s. */
async function untilStopped(pid: number): Promise<void> {
  const deadline = Date.now() + 5000;
  const stopped = () => {
    const threads = readdirSync(`/proc/${pid}/task`);
    return threads.every((thread) => /^\d+ \(.*\) T /.test(readFileSync(`/proc/${pid}/task/${thread}/stat`, "utf8")));
  };
  while (!stopped()) {
    if (Date.now() > deadline) throw new Error(`dockerd (pid ${pid}) did not stop within 5 s of SIGSTOP`);
    await Bun.sleep(5);
  }
}
