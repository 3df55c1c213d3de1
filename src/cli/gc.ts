import { defineCommand } from "citty";
import { clientArgs, withBay } from "./client-command.ts";
import { printResult } from "./output.ts";

export default defineCommand({
  meta: { name: "gc", description: "Run garbage collection now (admin key)" },
  args: clientArgs,
  run: ({ args }) =>
    withBay(args, async ({ bay }) => {
      const report = await bay.admin.runGc();
      const rows = report.results.map((r) => ({ task: r.task_name, cleaned: r.cleaned_count, errors: r.errors.join("; ") }));
      printResult(args.json, report, rows, ["task", "cleaned", "errors"]);
    }),
});
