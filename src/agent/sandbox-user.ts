import { chownSync, existsSync, lstatSync, mkdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import type { SpawnOptions, Subprocess, SyncSubprocess } from "bun";
import { consola } from "consola";
import { SANDBOX_GID, SANDBOX_UID, type UserIsolation } from "../shared/agent-protocol.ts";
import { openThreadIdentity, type ThreadIdentity } from "./thread-identity.ts";

const SETPRIV_PATHS = ["/usr/bin/setpriv", "/bin/setpriv"];
const PRLIMIT_PATHS = ["/usr/bin/prlimit", "/bin/prlimit"];
const CAP_SETPCAP = 8n;
/** Changes directory once the identity is dropped: root without DAC capabilities cannot enter a 0700 directory of uid 1000. */
const CHDIR_SHELL = "/bin/sh";
const CHDIR_SCRIPT = 'cd -- "$0" && exec "$@"';

let isolation: UserIsolation = "same_as_agent";
/** What runs in front of every command of user code. */
let launcher: string[] = [];
let hasChdirShell = false;
/** The workspace's real path: the one directory root may enter for user code without the chdir shell. */
let workspaceRoot: string | undefined;
/** Switches the JS thread alone between root and the sandbox user (null: the process-wide calls do). */
let threadIdentity: ThreadIdentity | null = null;
/** The ids a spawn itself gives user code (none when setpriv in the launcher does). */
let childIds: { uid?: number; gid?: number } = {};

/**
 * Makes the agent the identity it keeps for its whole life: real uid 0 (so
 * uid 1000 can neither signal, trace nor read it), effective uid/gid 1000
 * (so every file it touches is checked and owned as the sandbox user's).
 * Root powers come back only inside `withRootPrivileges`.
 */
export function settleAgentIdentity(workspace: string, cacheDir: string, maxUserProcesses?: number): UserIsolation {
  if (process.getuid?.() !== 0) {
    mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
    return (isolation = "same_as_agent");
  }
  prepareCacheDir(cacheDir);
  // The volume arrives owned by root; its mount point cannot be a symlink.
  chownSync(workspace, SANDBOX_UID, SANDBOX_GID);
  // Dropping root's group too: the effective identity must be exactly the sandbox user's.
  process.setgroups!([SANDBOX_GID]);
  threadIdentity = openThreadIdentity();
  const setpriv = SETPRIV_PATHS.find((path) => existsSync(path));
  const canDropBounds = hasPermittedCapability(CAP_SETPCAP);
  if (canDropBounds && threadIdentity?.confineChildren()) {
    // The spawning thread's bounds are what setpriv would set for each child: one program fewer per command.
    isolation = "no_capabilities";
  } else if (setpriv && canDropBounds) {
    isolation = "no_capabilities";
    launcher = [setpriv, `--reuid=${SANDBOX_UID}`, `--regid=${SANDBOX_GID}`, `--groups=${SANDBOX_GID}`, "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"];
  } else {
    isolation = "uid_only";
  }
  childIds = launcher.length === 0 ? { uid: SANDBOX_UID, gid: SANDBOX_GID } : {};
  if (maxUserProcesses !== undefined) launcher = [...processLimit(maxUserProcesses), ...launcher];
  hasChdirShell = existsSync(CHDIR_SHELL);
  workspaceRoot = realpathSync(workspace);
  lowerToSandboxUser();
  return isolation;
}

export function userIsolation(): UserIsolation {
  return isolation;
}

/**
 * Runs a synchronous operation with the agent's root powers (creating its
 * socket, starting user code). Never pass an async function: the powers end
 * when it returns.
 */
export function withRootPrivileges<T>(operation: () => T): T {
  // Nested: the outer call gives root back.
  if (isolation === "same_as_agent" || process.geteuid?.() === 0) return operation();
  if (!threadIdentity) {
    process.seteuid!(0);
    process.setegid!(0);
    try {
      return synchronously(operation());
    } finally {
      lowerToSandboxUser();
    }
  }
  // Only the JS thread becomes root. A thread created meanwhile (by it) would stay root: then every thread is lowered.
  const threadsBefore = threadIdentity.threads();
  try {
    threadIdentity.setEffective(0, 0, "uid-first");
    return synchronously(operation());
  } finally {
    let everyThread = false;
    try {
      threadIdentity.setEffective(SANDBOX_UID, SANDBOX_GID, "gid-first");
      everyThread = [...threadIdentity.threads()].some((thread) => !threadsBefore.has(thread));
    } catch {
      everyThread = true;
    }
    if (everyThread) lowerToSandboxUser();
  }
}

function synchronously<T>(result: T): T {
  if (result instanceof Promise) throw new Error("withRootPrivileges takes synchronous operations only");
  return result;
}

type SandboxSpawnOptions<In extends SpawnOptions.Writable, Out extends SpawnOptions.Readable, Err extends SpawnOptions.Readable> =
  Omit<SpawnOptions.SpawnOptions<In, Out, Err>, "uid" | "gid">;
type SandboxSpawnSyncOptions<In extends SpawnOptions.Writable, Out extends SpawnOptions.Readable, Err extends SpawnOptions.Readable> =
  Omit<SpawnOptions.SpawnSyncOptions<In, Out, Err>, "uid" | "gid">;

/** The one way user code is started: as uid/gid 1000, with no capabilities where the container allows. */
export function spawnAsSandboxUser<
  const In extends SpawnOptions.Writable = "ignore",
  const Out extends SpawnOptions.Readable = "pipe",
  const Err extends SpawnOptions.Readable = "inherit",
>(argv: string[], options: SandboxSpawnOptions<In, Out, Err>): Subprocess<In, Out, Err> {
  if (options.cwd !== undefined && options.cwd === workspaceRoot && searchableByAll(workspaceRoot)) {
    // The mount point cannot be swapped for a link, so root may enter it itself: one program fewer to start.
    try {
      return withRootPrivileges(() => Bun.spawn([...launcher, ...argv], { ...options, ...childIds }));
    } catch (error) {
      // Made unsearchable meanwhile: the sandbox user enters it, as for any other directory.
      if ((error as NodeJS.ErrnoException).code !== "EACCES") throw error;
    }
  }
  const launch = sandboxLaunch(argv, options.cwd);
  return withRootPrivileges(() => Bun.spawn(launch.argv, { ...options, ...launch.options }));
}

export function spawnSyncAsSandboxUser<
  const In extends SpawnOptions.Writable = "ignore",
  const Out extends SpawnOptions.Readable = "pipe",
  const Err extends SpawnOptions.Readable = "pipe",
>(argv: string[], options: SandboxSpawnSyncOptions<In, Out, Err>): SyncSubprocess<Out, Err> {
  const launch = sandboxLaunch(argv, options.cwd);
  return withRootPrivileges(() => Bun.spawnSync(launch.argv, { ...options, ...launch.options }));
}

/**
 * Signals user code (a negative pid: its process group). The agent's
 * effective uid is the sandbox user's, which is what lets it do so without
 * CAP_KILL; in its first instants a process may still be setpriv, as root.
 * Returns false when nothing was left to signal.
 */
export function signalSandboxProcess(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  try {
    withRootPrivileges(() => process.kill(pid, signal));
    return true;
  } catch {
    return false;
  }
}

/** How long a group kill goes on while members remain (zombies not yet reaped by the init count as members). */
const GROUP_KILL_PATIENCE_MS = 3000;
const GROUP_KILL_INTERVAL_MS = 20;

/**
 * Kills user code's process group down to its last member. One kill of the
 * group is not enough under gVisor: a member caught mid-fork leaves a child
 * the signal missed, and a fork bomb goes on from it, holding the process
 * cap (and, long enough, the engine's) after its command has ended.
 */
export async function killSandboxProcessGroup(group: number): Promise<void> {
  const deadline = Date.now() + GROUP_KILL_PATIENCE_MS;
  while (signalSandboxProcess(-group, "SIGKILL") && Date.now() < deadline) await Bun.sleep(GROUP_KILL_INTERVAL_MS);
}

function sandboxLaunch(argv: string[], cwd: string | undefined): { argv: string[]; options: { cwd?: string; uid?: number; gid?: number } } {
  if (isolation === "same_as_agent") return { argv, options: { cwd } };
  const ids = childIds;
  if (cwd === undefined || !hasChdirShell) return { argv: [...launcher, ...argv], options: { cwd, ...ids } };
  return { argv: [...launcher, CHDIR_SHELL, "-c", CHDIR_SCRIPT, cwd, ...argv], options: { cwd: "/", ...ids } };
}

/** Whether root without the capabilities to bypass permissions may enter `dir` (it is not its owner). */
function searchableByAll(dir: string): boolean {
  try {
    return (statSync(dir).mode & 0o001) !== 0;
  } catch {
    return false;
  }
}

/**
 * What caps user code's processes, in front of every command: util-linux's
 * prlimit sets RLIMIT_NPROC, soft and hard, so user code cannot raise it.
 * Set on the command, not on the agent: gVisor counts root's tasks too, and
 * the agent's threads are root's.
 */
function processLimit(maxProcesses: number): string[] {
  const prlimit = PRLIMIT_PATHS.find((path) => existsSync(path));
  if (!prlimit) {
    consola.warn(`agent: no prlimit in the image: user code's processes are not capped at ${maxProcesses} (only the memory limit holds a fork bomb)`);
    return [];
  }
  return [prlimit, `--nproc=${maxProcesses}:${maxProcesses}`, "--"];
}

function lowerToSandboxUser(): void {
  // Group first: once the effective uid is 1000, changing the group is no longer allowed.
  process.setegid!(SANDBOX_GID);
  process.seteuid!(SANDBOX_UID);
}

/** Made while no user code runs yet; a symlink left by the image is not followed. */
function prepareCacheDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (lstatSync(dir).isDirectory()) chownSync(dir, SANDBOX_UID, SANDBOX_GID);
}

function hasPermittedCapability(bit: bigint): boolean {
  const line = readFileSync("/proc/self/status", "utf8").match(/^CapPrm:\s*([0-9a-f]+)$/m);
  return line !== null && ((BigInt(`0x${line[1]}`) >> bit) & 1n) === 1n;
}
