import { defineCommand } from "citty";
import { clientArgs, withBay } from "./client-command.ts";
import { printJson, printResult } from "./output.ts";

const COLUMNS = ["id", "status", "profile", "cargo_id", "created_at", "expires_at"];
const idArg = { id: { type: "positional", description: "Sandbox id", required: true } } as const;

export default defineCommand({
  meta: { name: "sandbox", description: "Manage sandboxes: ls, create, get, stop, rm" },
  subCommands: {
    ls: defineCommand({
      meta: { name: "ls", description: "List sandboxes" },
      args: { ...clientArgs, status: { type: "string", description: "Only this status" } },
      run: ({ args }) =>
        withBay(args, async ({ bay }) => {
          const items = await bay.sandboxes.listAll({ status: args.status as never });
          printResult(args.json, items, items, COLUMNS);
        }),
    }),
    create: defineCommand({
      meta: { name: "create", description: "Create a sandbox (compute starts on first use)" },
      args: {
        ...clientArgs,
        profile: { type: "string", description: "Profile id" },
        ttl: { type: "string", description: "Seconds until it expires" },
        cargo: { type: "string", description: "Attach this external cargo" },
      },
      run: ({ args }) =>
        withBay(args, async ({ bay }) => {
          const sandbox = await bay.sandboxes.create({
            profile: args.profile,
            ttl: args.ttl === undefined ? undefined : Number(args.ttl),
            cargo_id: args.cargo,
          });
          if (args.json) printJson(sandbox);
          else process.stdout.write(`${sandbox.id}\n`);
        }),
    }),
    get: defineCommand({
      meta: { name: "get", description: "Show a sandbox" },
      args: { ...clientArgs, ...idArg },
      run: ({ args }) =>
        withBay(args, async ({ bay }) => {
          const sandbox = await bay.sandboxes.get(args.id);
          printResult(args.json, sandbox, [sandbox], [...COLUMNS, "idle_expires_at", "state_reset_at"]);
        }),
    }),
    stop: defineCommand({
      meta: { name: "stop", description: "Stop a sandbox's compute (files are kept)" },
      args: { ...clientArgs, ...idArg },
      run: ({ args }) =>
        withBay(args, async ({ bay }) => {
          const answer = await bay.sandboxes.stop(args.id);
          if (args.json) printJson(answer);
        }),
    }),
    rm: defineCommand({
      meta: { name: "rm", description: "Delete a sandbox and its managed cargo" },
      args: { ...clientArgs, ...idArg },
      run: ({ args }) =>
        withBay(args, async ({ bay }) => {
          await bay.sandboxes.delete(args.id);
          if (args.json) printJson({ id: args.id, deleted: true });
        }),
    }),
  },
});
