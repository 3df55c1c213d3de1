import { chownSync, mkdirSync } from "node:fs";
import { SANDBOX_GID, SANDBOX_UID } from "./protocol.ts";

/**
 * The container starts the agent as root (with only CHOWN, SETUID and SETGID)
 * so it can hand the fresh, root-owned volume to the sandbox user; then it
 * drops to that user for good, and so does all code it spawns.
 */
export function dropPrivileges(workspace: string, home: string): boolean {
  if (process.getuid?.() !== 0) return false;
  chownSync(workspace, SANDBOX_UID, SANDBOX_GID);
  mkdirSync(home, { recursive: true, mode: 0o700 });
  chownSync(home, SANDBOX_UID, SANDBOX_GID);
  // setgroups first, or the root group stays among the supplementary groups.
  process.setgroups!([SANDBOX_GID]);
  process.setgid!(SANDBOX_GID);
  process.setuid!(SANDBOX_UID);
  return true;
}
