import { statSync } from "node:fs";
import { join, resolve } from "node:path";

/**
 * Where an argv's program is, looked up as the shell would: a name with a
 * slash relative to `cwd`, any other in PATH. Checked with stat, which runs
 * as the agent's effective identity (the sandbox user); access(2), which
 * Bun.which uses, would check as the agent's real uid, root without the
 * capabilities to read a private workspace.
 */
export function findProgram(name: string, path: string, cwd: string): string | null {
  if (name.includes("/")) return executable(resolve(cwd, name));
  for (const directory of path.split(":")) {
    const candidate = executable(join(resolve(cwd, directory || "."), name));
    if (candidate) return candidate;
  }
  return null;
}

function executable(candidate: string): string | null {
  try {
    const stat = statSync(candidate);
    return stat.isFile() && (stat.mode & 0o111) !== 0 ? candidate : null;
  } catch {
    return null;
  }
}
