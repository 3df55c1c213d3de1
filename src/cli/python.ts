import { defineCommand } from "citty";
import { clientArgs, withBay } from "./client-command.ts";
import { printJson } from "./output.ts";
import { announceColdStart, watchStart } from "./run-code.ts";

export default defineCommand({
  meta: { name: "python", description: "Run Python in a sandbox's persistent kernel: bay python ID CODE" },
  args: {
    ...clientArgs,
    id: { type: "positional", description: "Sandbox id", required: true },
    code: { type: "positional", description: "Python code", required: true },
    timeout: { type: "string", description: "Seconds (1..300)" },
  },
  run: ({ args }) =>
    withBay(args, async (connection) => {
      const { bay } = connection;
      await announceColdStart(bay, args.id);
      const stopWatching = watchStart(connection, args.id);
      const result = await bay.python
        .exec(args.id, { code: args.code, timeout: args.timeout === undefined ? undefined : Number(args.timeout) })
        .finally(stopWatching);
      if (args.json) printJson(result);
      else {
        process.stdout.write(result.output);
        if (result.error) process.stderr.write(result.error);
      }
      if (!result.success) process.exitCode = 1;
    }),
});
