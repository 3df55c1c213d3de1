import { dlopen, FFIType } from "bun:ffi";
import { readFileSync, readdirSync } from "node:fs";

/**
 * The identity of the agent's JS thread alone, through raw system calls.
 * Credentials and capability bounds are per thread in Linux; glibc's
 * seteuid/setegid change every thread (it signals each one and waits), and
 * right after a spawn that wait costs milliseconds. The JS thread is the one
 * that spawns, signals and creates sockets, so it is the only one that needs
 * root for a moment, and the one whose bounds every child inherits. Null
 * where the calls cannot be made (no libc to open, an unknown architecture):
 * the caller then uses the process-wide calls and setpriv.
 */
export interface ThreadIdentity {
  /** Sets the calling thread's effective uid and gid; throws if the kernel refuses. */
  setEffective(uid: number, gid: number, order: "uid-first" | "gid-first"): void;
  /** The process's threads now, to tell whether one was created while the JS thread was root. */
  threads(): Set<string>;
  /**
   * Empties the calling thread's capability bounding set and sets its
   * no_new_privs, as setpriv would for each child: what it starts, once its
   * uid is 1000, can never hold a capability. True once /proc confirms it
   * (every capability set a child could inherit is empty).
   */
  confineChildren(): boolean;
}

const SYSCALLS: Partial<Record<NodeJS.Architecture, { setresuid: number; setresgid: number; prctl: number }>> = {
  x64: { setresuid: 117, setresgid: 119, prctl: 157 },
  arm64: { setresuid: 147, setresgid: 149, prctl: 167 },
};
const KEEP = -1;
const PR_CAPBSET_DROP = 24;
const PR_SET_NO_NEW_PRIVS = 38;
const PR_GET_NO_NEW_PRIVS = 39;
const PR_CAP_AMBIENT = 47;
const PR_CAP_AMBIENT_IS_SET = 1;

export function openThreadIdentity(): ThreadIdentity | null {
  const numbers = SYSCALLS[process.arch];
  if (!numbers) return null;
  let syscall: (number: number, a: number, b: number, c: number, d: number, e: number) => number | bigint;
  try {
    const libc = dlopen("libc.so.6", { syscall: { args: [FFIType.i64, FFIType.i64, FFIType.i64, FFIType.i64, FFIType.i64, FFIType.i64], returns: FFIType.i64 } });
    syscall = libc.symbols.syscall as typeof syscall;
  } catch {
    return null;
  }
  const answer = (name: keyof typeof numbers, a: number, b = 0, c = 0) => Number(syscall(numbers[name], a, b, c, 0, 0));
  const call = (name: keyof typeof numbers, a: number, b = 0, c = 0) => answer(name, a, b, c) === 0;
  const setId = (name: "setresuid" | "setresgid", id: number) => {
    if (!call(name, KEEP, id, KEEP)) throw new Error(`${name}(-1, ${id}, -1) was refused for the agent's thread`);
  };
  return {
    setEffective(uid, gid, order) {
      // Raising: the uid first (root's powers then allow the gid); lowering: the gid while they last.
      if (order === "uid-first") {
        setId("setresuid", uid);
        setId("setresgid", gid);
      } else {
        setId("setresgid", gid);
        setId("setresuid", uid);
      }
    },
    threads: () => new Set(readdirSync("/proc/self/task")),
    confineChildren() {
      const lastCapability = lastCapabilityNumber();
      for (let capability = 0; capability <= lastCapability; capability++) call("prctl", PR_CAPBSET_DROP, capability);
      call("prctl", PR_SET_NO_NEW_PRIVS, 1);
      const status = readFileSync("/proc/thread-self/status", "utf8");
      const field = (name: string) => status.match(new RegExp(`^${name}:\\s*(\\S+)$`, "m"))?.[1];
      // Asked of the kernel, not /proc: gVisor's status has no CapAmb or NoNewPrivs line. An ambient
      // capability answers 1; 0 is unset, and a kernel without ambient capabilities refuses the question.
      const ambientEmpty = Array.from({ length: lastCapability + 1 }, (_, capability) => answer("prctl", PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, capability)).every(
        (isSet) => isSet !== 1,
      );
      return ["CapBnd", "CapInh"].every((name) => /^0+$/.test(field(name) ?? "")) && ambientEmpty && answer("prctl", PR_GET_NO_NEW_PRIVS) === 1;
    },
  };
}

/**
 * The highest capability number the kernel knows. gVisor's kernel has no
 * /proc/sys/kernel/cap_last_cap: every number a capability set can hold is
 * then dropped (an unknown one is refused, harmlessly), and the check after
 * the drops still proves the bounding set empty.
 */
function lastCapabilityNumber(): number {
  try {
    return Number(readFileSync("/proc/sys/kernel/cap_last_cap", "utf8").trim());
  } catch {
    return 63;
  }
}
