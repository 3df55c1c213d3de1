/** Runs `action` and returns the error it throws, which must be an instance of `type`. */
export function thrownBy<E extends Error>(type: abstract new (...args: never[]) => E, action: () => unknown): E {
  try {
    action();
  } catch (error) {
    if (error instanceof type) return error;
    throw error;
  }
  throw new Error(`expected a ${type.name} to be thrown`);
}
