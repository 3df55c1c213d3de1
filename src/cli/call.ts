import { defineCommand } from "citty";
import { Value } from "@sinclair/typebox/value";
import { CAPABILITIES } from "../composition/registry.ts";
import { ValidationError } from "../shared/errors.ts";
import type { SandboxOperation } from "../shared/sandbox-operation.ts";
import { EXIT_CLIENT_FAILURE, clientArgs, withBay } from "./client-command.ts";
import { printJson } from "./output.ts";
import { fieldName } from "../shared/schema-path.ts";

/** Every installed capability's operations, by name ("python.exec"). */
function operations(): Map<string, SandboxOperation> {
  return new Map(CAPABILITIES.flatMap((capability) => capability.operations.map((operation) => [operation.name, operation] as const)));
}

function listing(): string {
  return [...operations().values()].map((operation) => `  ${operation.name.padEnd(20)} ${operation.summary}`).join("\n");
}

/** The input as JSON, checked against the operation's schema here so a mistake is named before any sandbox starts. */
function parseInput(operation: SandboxOperation, text: string | undefined): Record<string, unknown> {
  let input: unknown;
  try {
    input = text === undefined ? {} : JSON.parse(text);
  } catch {
    throw new ValidationError(`the input of ${operation.name} must be JSON, e.g. '{"path": "a.txt"}'`, { field: "input" });
  }
  const problem = Value.Errors(operation.input, input).First();
  if (problem) {
    const field = fieldName(problem.path);
    throw new ValidationError(`${operation.name}: ${field}: ${problem.message}`, { field });
  }
  return input as Record<string, unknown>;
}

export default defineCommand({
  meta: {
    name: "call",
    description: "Run any capability operation on a sandbox, its input as JSON: bay call ID OPERATION '{…}' (bay call --list)",
  },
  args: {
    ...clientArgs,
    id: { type: "positional", description: "Sandbox id", required: false },
    operation: { type: "positional", description: "Operation name, e.g. python.exec", required: false },
    input: { type: "positional", description: "The operation's input as JSON (default {})", required: false },
    list: { type: "boolean", description: "List the operations" },
  },
  async run({ args }) {
    if (args.list || !args.id || !args.operation) {
      process.stdout.write(`operations (bay call ID OPERATION '{…}'):\n${listing()}\n`);
      if (!args.list) process.exitCode = 2;
      return;
    }
    const operation = operations().get(args.operation);
    if (!operation) {
      process.stderr.write(`bay: no operation ${args.operation}; installed:\n${listing()}\n`);
      process.exitCode = 2;
      return;
    }
    let input: Record<string, unknown>;
    try {
      input = parseInput(operation, args.input);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      process.stderr.write(`bay: ${error.code}: ${error.message}\n`);
      process.exitCode = EXIT_CLIENT_FAILURE;
      return;
    }
    await withBay(args, async ({ bay }) => printJson(await bay.run(operation, args.id!, input)));
  },
});
