import { dlopen, FFIType, toArrayBuffer } from "bun:ffi";

/**
 * Overwrites a variable's value, in place, in the environment the process
 * was started with: the bytes /proc/<pid>/environ shows. The kernel keeps
 * that file from user code under runc (the agent's real uid is 0), gVisor's
 * /proc does not. The caller has read the value before. False where libc
 * cannot be opened or the variable is not there.
 */
export function scrubFromInitialEnvironment(name: string): boolean {
  let libc;
  try {
    libc = dlopen("libc.so.6", {
      getenv: { args: [FFIType.cstring], returns: FFIType.ptr },
      strlen: { args: [FFIType.ptr], returns: FFIType.u64 },
    });
  } catch {
    return false;
  }
  try {
    const value = libc.symbols.getenv(Buffer.from(`${name}\0`));
    if (!value) return false;
    const length = Number(libc.symbols.strlen(value));
    if (length > 0) new Uint8Array(toArrayBuffer(value, 0, length)).fill(0x30);
    return true;
  } finally {
    libc.close();
  }
}
