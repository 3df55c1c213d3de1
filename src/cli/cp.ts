import { defineCommand } from "citty";
import { readFileSync } from "node:fs";
import { BayError } from "../shared/errors.ts";
import { clientArgs, withBay } from "./client-command.ts";
import { printJson } from "./output.ts";

/** `sandbox-…:path` names a file in a sandbox; anything else is local. */
function remoteOf(location: string): { sandboxId: string; path: string } | null {
  const match = /^(sandbox-[0-9a-f]{12}):(.+)$/.exec(location);
  return match ? { sandboxId: match[1]!, path: match[2]! } : null;
}

export default defineCommand({
  meta: { name: "cp", description: "Copy a file into or out of a sandbox: bay cp LOCAL ID:PATH | bay cp ID:PATH LOCAL" },
  args: {
    ...clientArgs,
    source: { type: "positional", description: "LOCAL or ID:PATH", required: true },
    target: { type: "positional", description: "ID:PATH or LOCAL", required: true },
  },
  run: ({ args }) =>
    withBay(args, async ({ bay }) => {
      const from = remoteOf(args.source);
      const to = remoteOf(args.target);
      if (Boolean(from) === Boolean(to)) {
        throw new BayError("validation_error", "exactly one of the two locations must be ID:PATH in a sandbox", {});
      }
      if (to) {
        const result = await bay.files.upload(to.sandboxId, to.path, readFileSync(args.source));
        if (args.json) printJson(result);
        return;
      }
      const bytes = await bay.files.download(from!.sandboxId, from!.path);
      await Bun.write(args.target, bytes);
      if (args.json) printJson({ status: "ok", path: args.target, size: bytes.length });
    }),
});
