/**
 * Type-checks the dashboard (src/ui) with the browser's DOM types, which the
 * rest of the code must not see (they clash with Bun's). The files it
 * imports from elsewhere (the SDK) are checked by tsconfig.json; only
 * src/ui's own diagnostics are reported here.
 *   bun scripts/typecheck-ui.ts      # exits 1 on an error
 */
import ts from "typescript";
import { relative, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const config = ts.getParsedCommandLineOfConfigFile(resolve(root, "tsconfig.ui.json"), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
if (!config) throw new Error("tsconfig.ui.json does not parse");
const program = ts.createProgram(config.fileNames, config.options);
const ui = resolve(root, "src/ui");
const diagnostics = ts.getPreEmitDiagnostics(program).filter((diagnostic) => !diagnostic.file || diagnostic.file.fileName.startsWith(ui));
for (const diagnostic of diagnostics) {
  const where = diagnostic.file ? `${relative(root, diagnostic.file.fileName)}(${diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0).line + 1}): ` : "";
  console.error(`${where}${ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n")}`);
}
process.exit(diagnostics.length > 0 ? 1 : 0);
