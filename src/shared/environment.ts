import { ValidationError } from "./errors.ts";

/** What a shell accepts as a variable name. */
export const ENVIRONMENT_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Names that no shell could use are refused by name. (Request schemas say
 * the same, but Elysia drops keys that fail a record's key pattern instead
 * of rejecting them.)
 */
export function checkEnvironmentNames(env: Record<string, string> | undefined): void {
  for (const name of Object.keys(env ?? {})) {
    if (!ENVIRONMENT_NAME.test(name)) {
      throw new ValidationError(`env name ${JSON.stringify(name)} is not a valid variable name`, { field: `env.${name}` });
    }
  }
}
