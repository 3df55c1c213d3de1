import { defineCommand } from "citty";
import { clientArgs, withBay } from "./client-command.ts";
import { printJson } from "./output.ts";
import { announceColdStart, watchStart } from "./run-code.ts";

export default defineCommand({
  meta: { name: "shell", description: "Run a shell command in a sandbox: bay shell ID CMD" },
  args: {
    ...clientArgs,
    id: { type: "positional", description: "Sandbox id", required: true },
    command: { type: "positional", description: "Shell command", required: true },
    timeout: { type: "string", description: "Seconds (1..300)" },
    cwd: { type: "string", description: "Working directory relative to /workspace" },
  },
  run: ({ args }) =>
    withBay(args, async (connection) => {
      const { bay } = connection;
      await announceColdStart(bay, args.id);
      const stopWatching = watchStart(connection, args.id);
      const result = await bay.shell
        .exec(args.id, { command: args.command, cwd: args.cwd, timeout: args.timeout === undefined ? undefined : Number(args.timeout) })
        .finally(stopWatching);
      if (args.json) printJson(result);
      else {
        process.stdout.write(result.output);
        process.stderr.write(result.error);
      }
      process.exitCode = result.exit_code === -1 ? 124 : result.exit_code;
    }),
});
