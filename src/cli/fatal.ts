import { consola } from "consola";
import { BayError, ConfigError } from "../shared/errors.ts";

/** Exit status for configuration errors, distinct from a command's own failures. */
export const EXIT_CONFIG_ERROR = 2;

/** Runs a command body; known errors end the process with a one-line message instead of a stack. */
export async function runOrExit(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    if (error instanceof ConfigError) {
      consola.error(error.message);
      process.exit(EXIT_CONFIG_ERROR);
    }
    if (error instanceof BayError) {
      consola.error(`${error.code}: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
}
