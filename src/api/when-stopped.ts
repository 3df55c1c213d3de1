/** The failure that only ever reaches `answerWhenStopped`. */
const STOPPED = new Error("the sandbox has no running session");

/**
 * For a question about what lives only in a running session (its background
 * processes, its Python contexts): asked of the agent when a session runs,
 * answered with `whenStopped` when none does, and no session is started for it.
 */
export async function answerWhenStopped<T>(ask: (notRunning: () => Error) => Promise<T>, whenStopped: T): Promise<T> {
  try {
    return await ask(() => STOPPED);
  } catch (error) {
    if (error === STOPPED) return whenStopped;
    throw error;
  }
}
