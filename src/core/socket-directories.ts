import { chmodSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { BayError } from "../shared/errors.ts";
import { SANDBOX_GID, SANDBOX_UID } from "../shared/agent-protocol.ts";

/**
 * Per-session host directories through which Bay reaches an agent that has
 * no network (network "none"): the agent listens on a unix socket there.
 */
export class SocketDirectories {
  constructor(private readonly dataDir: string) {}

  private pathOf(sessionId: string): string {
    return join(this.dataDir, "sockets", sessionId);
  }

  create(sessionId: string): string {
    // A Bay whose user or group is the sandbox user's would hand the directory to user code.
    if (process.getuid?.() !== 0 && (process.getuid?.() === SANDBOX_UID || process.getgid?.() === SANDBOX_GID)) {
      throw new BayError(
        "driver_unavailable",
        `network none needs Bay to run as root or as a user and group other than the sandbox user's (${SANDBOX_UID}:${SANDBOX_GID})`,
        { reason: "socket_directory" },
      );
    }
    const dir = this.pathOf(sessionId);
    mkdirSync(dir, { recursive: true });
    // Only Bay and the agent (root in the container) may create, replace or remove anything here,
    // never user code (uid 1000). A Bay that is not root lets the agent in through its group instead.
    chmodSync(dir, process.getuid?.() === 0 ? 0o700 : 0o770);
    return dir;
  }

  remove(sessionId: string): void {
    rmSync(this.pathOf(sessionId), { recursive: true, force: true });
  }
}
