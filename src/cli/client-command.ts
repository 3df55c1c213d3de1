import { BayError, ConfigError } from "../shared/errors.ts";
import { EXIT_CONFIG_ERROR } from "./fatal.ts";
import { coreConfigArgs } from "./config-args.ts";
import { connect, connectionArgs, type Connection, type ConnectionFlags } from "./connection.ts";
import { outputArgs } from "./output.ts";

/** Flags every client command takes: where Bay is, and how to print. */
export const clientArgs = { ...connectionArgs, ...coreConfigArgs, ...outputArgs } as const;

/** Exit status of a client command that Bay refused or could not serve. */
export const EXIT_CLIENT_FAILURE = 1;

/** Connects, runs the command's body, closes; a BayError becomes one line on stderr and exit 1. */
export async function withBay(flags: ConnectionFlags, body: (connection: Connection) => Promise<void>): Promise<void> {
  let connection: Connection | undefined;
  try {
    connection = await connect(flags);
    await body(connection);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`bay: ${error.message}\n`);
      process.exitCode = EXIT_CONFIG_ERROR;
    } else if (error instanceof BayError) {
      process.stderr.write(`bay: ${error.code}: ${error.message}\n`);
      process.exitCode = EXIT_CLIENT_FAILURE;
    } else {
      throw error;
    }
  } finally {
    await connection?.close();
  }
}
