import { defineCommand } from "citty";
import { clientArgs, withBay } from "./client-command.ts";
import { printJson, printResult } from "./output.ts";

const COLUMNS = ["id", "managed", "managed_by_sandbox_id", "size_limit_mb", "created_at"];

export default defineCommand({
  meta: { name: "cargo", description: "Manage cargos (workspace volumes): ls, create, rm" },
  subCommands: {
    ls: defineCommand({
      meta: { name: "ls", description: "List external cargos (--managed: those of sandboxes)" },
      args: { ...clientArgs, managed: { type: "boolean", description: "List managed cargos", default: false } },
      run: ({ args }) =>
        withBay(args, async ({ bay }) => {
          const items = await bay.cargos.listAll({ managed: args.managed });
          printResult(args.json, items, items, COLUMNS);
        }),
    }),
    create: defineCommand({
      meta: { name: "create", description: "Create an external cargo" },
      args: { ...clientArgs, size: { type: "string", description: "Size limit in MB" } },
      run: ({ args }) =>
        withBay(args, async ({ bay }) => {
          const cargo = await bay.cargos.create({ size_limit_mb: args.size === undefined ? undefined : Number(args.size) });
          if (args.json) printJson(cargo);
          else process.stdout.write(`${cargo.id}\n`);
        }),
    }),
    rm: defineCommand({
      meta: { name: "rm", description: "Delete a cargo" },
      args: { ...clientArgs, id: { type: "positional", description: "Cargo id", required: true } },
      run: ({ args }) =>
        withBay(args, async ({ bay }) => {
          await bay.cargos.delete(args.id);
          if (args.json) printJson({ id: args.id, deleted: true });
        }),
    }),
  },
});
