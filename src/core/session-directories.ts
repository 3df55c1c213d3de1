import { chmodSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BayError } from "../shared/errors.ts";
import { AGENT_TOKEN_FILE_NAME, SANDBOX_GID, SANDBOX_UID } from "../shared/agent-protocol.ts";

/**
 * Per-session host directories, mounted into the session's container at
 * AGENT_SESSION_DIR: the session token the agent reads at start, and with
 * network "none" the unix socket Bay reaches the agent on. The token is a
 * file, not a variable: gVisor's /proc shows the container's first process's
 * environment to user code, and a file root alone can open shows it to no one.
 */
export class SessionDirectories {
  /** Where every session's directory is, named by its session's id. */
  private readonly root: string;

  constructor(dataDir: string) {
    this.root = join(dataDir, "sessions");
  }

  private pathOf(sessionId: string): string {
    return join(this.root, sessionId);
  }

  create(sessionId: string, token: string): string {
    // A Bay whose user or group is the sandbox user's would hand the directory to user code.
    const asRoot = process.getuid?.() === 0;
    if (!asRoot && (process.getuid?.() === SANDBOX_UID || process.getgid?.() === SANDBOX_GID)) {
      throw new BayError(
        "driver_unavailable",
        `Bay must run as root or as a user and group other than the sandbox user's (${SANDBOX_UID}:${SANDBOX_GID}): its session directories hold the agents' tokens`,
        { reason: "session_directory" },
      );
    }
    const dir = this.pathOf(sessionId);
    mkdirSync(dir, { recursive: true });
    // Only Bay and the agent (root in the container) may read or change anything here, never user code (uid 1000).
    // A Bay that is not root lets the agent in through its group instead.
    chmodSync(dir, asRoot ? 0o700 : 0o770);
    const tokenFile = join(dir, AGENT_TOKEN_FILE_NAME);
    writeFileSync(tokenFile, token, { mode: 0o600 });
    chmodSync(tokenFile, asRoot ? 0o400 : 0o440);
    return dir;
  }

  remove(sessionId: string): void {
    rmSync(this.pathOf(sessionId), { recursive: true, force: true });
  }

  /** The sessions that have a directory here. */
  sessionIds(): string[] {
    try {
      return readdirSync(this.root);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
  }
}
