import ts from "typescript";
import { join } from "node:path";

/**
 * The published SDK's one self-contained declaration file. The client's data
 * types are the server's TypeBox schemas (src/client/types.ts); a consumer
 * has neither those schemas nor TypeBox, so each type is written out as the
 * plain object type it stands for, resolved by the compiler from the same
 * schemas: the package's types cannot drift from what the server validates.
 */
export function sdkDeclarations(root: string): string {
  const clientDir = join(root, "src/client");
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ESNext,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    allowImportingTsExtensions: true,
    strict: true,
    skipLibCheck: true,
    types: ["bun-types"],
    declaration: true,
    emitDeclarationOnly: true,
    stripInternal: true,
  };
  const program = ts.createProgram([join(clientDir, "index.ts")], options);
  const emitted = new Map<string, string>();
  const wanted = ["src/client/bay-client.ts", "src/shared/errors.ts"].map((path) => join(root, path));
  for (const file of wanted) {
    const source = program.getSourceFile(file);
    if (!source) throw new Error(`the SDK's declarations need ${file}`);
    const result = program.emit(source, (name, text) => emitted.set(name, text), undefined, true);
    const problems = result.diagnostics.filter((diagnostic) => diagnostic.category === ts.DiagnosticCategory.Error);
    if (problems.length > 0) throw new Error(ts.formatDiagnosticsWithColorAndContext(problems, formatHost));
  }
  const parts = [...emitted.values()].map(withoutImports);
  const joined = [dataTypes(program, join(clientDir, "types.ts")), ...parts].join("\n");
  return HEADER + onlyWhatIsExported(joined, exportedNames(program, join(clientDir, "index.ts")));
}

/** What the entry point exports, split into values and types as the bundle has them. */
function exportedNames(program: ts.Program, indexFile: string): { values: string[]; types: string[] } {
  const checker = program.getTypeChecker();
  const index = program.getSourceFile(indexFile);
  const module = index && checker.getSymbolAtLocation(index);
  if (!module) throw new Error(`missing ${indexFile}`);
  const values: string[] = [];
  const types: string[] = [];
  for (const symbol of checker.getExportsOfModule(module)) {
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    (target.flags & ts.SymbolFlags.Value ? values : types).push(symbol.name);
  }
  return { values, types };
}

/**
 * The joined declarations keep what the entry point exports and what that
 * refers to, nothing else (errors.ts declares the server's errors too), and
 * export exactly the entry point's names.
 */
function onlyWhatIsExported(declarations: string, exported: { values: string[]; types: string[] }): string {
  const file = ts.createSourceFile("sdk.d.ts", declarations, ts.ScriptTarget.ESNext, true);
  const byName = new Map<string, ts.Statement>();
  for (const statement of file.statements) {
    const name = declaredName(statement);
    if (name) byName.set(name, statement);
  }
  const kept = new Set<string>();
  const visit = (name: string): void => {
    const statement = byName.get(name);
    if (!statement || kept.has(name)) return;
    kept.add(name);
    const find = (node: ts.Node): void => {
      if (ts.isIdentifier(node)) visit(node.text);
      ts.forEachChild(node, find);
    };
    find(statement);
  };
  for (const name of [...exported.values, ...exported.types]) {
    if (!byName.has(name)) throw new Error(`the SDK exports ${name}, but its declarations do not have it`);
    visit(name);
  }
  const body = file.statements
    .filter((statement) => kept.has(declaredName(statement) ?? ""))
    .map((statement) => statement.getFullText(file).replace(/^(\s*(?:\/\*\*[\s\S]*?\*\/\s*)?)export (?:declare )?/, "$1declare "))
    .join("");
  return `${body.trim()}\n\nexport { ${exported.values.join(", ")} };\nexport type { ${exported.types.join(", ")} };\n`;
}

function declaredName(statement: ts.Statement): string | undefined {
  if (ts.isVariableStatement(statement)) {
    const [declaration] = statement.declarationList.declarations;
    return declaration && ts.isIdentifier(declaration.name) ? declaration.name.text : undefined;
  }
  const named = statement as ts.Statement & { name?: ts.Node };
  return named.name && ts.isIdentifier(named.name) ? named.name.text : undefined;
}

const HEADER = "// The Bay SDK's types, generated from Bay's API schemas by scripts/build-sdk.ts.\n";

const formatHost: ts.FormatDiagnosticsHost = {
  getCanonicalFileName: (name) => name,
  getCurrentDirectory: () => process.cwd(),
  getNewLine: () => "\n",
};

/** The declarations are joined into one file, so imports between them go; any other import would leave the package incomplete. */
function withoutImports(declarations: string): string {
  const lines = declarations.split("\n").filter((line) => !/^import .* from "\.\.?\//.test(line) && !/^export \{\};?$/.test(line));
  const foreign = lines.find((line) => /^import |^export .* from /.test(line));
  if (foreign) throw new Error(`the SDK's declarations would import from outside the package: ${foreign}`);
  return lines.join("\n");
}

/** Each exported type of src/client/types.ts: schema-derived ones expanded, hand-written ones (events) as written. */
function dataTypes(program: ts.Program, typesFile: string): string {
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(typesFile);
  if (!source) throw new Error(`missing ${typesFile}`);
  const out: string[] = [];
  for (const statement of source.statements) {
    if (!ts.isTypeAliasDeclaration(statement)) continue;
    const doc = leadingDoc(source, statement);
    const written = statement.type.getText(source);
    const fromSchema = /\bStatic<|\btypeof /.test(written);
    const params = statement.typeParameters ? `<${statement.typeParameters.map((parameter) => parameter.getText(source)).join(", ")}>` : "";
    const body = fromSchema ? expanded(checker, statement, source) : written;
    out.push(`${doc}export type ${statement.name.text}${params} = ${body};`);
  }
  return out.join("\n");
}

function expanded(checker: ts.TypeChecker, alias: ts.TypeAliasDeclaration, source: ts.SourceFile): string {
  const node = checker.typeToTypeNode(
    checker.getTypeAtLocation(alias.name),
    undefined,
    ts.NodeBuilderFlags.NoTruncation | ts.NodeBuilderFlags.InTypeAlias | ts.NodeBuilderFlags.IgnoreErrors,
  );
  if (!node) throw new Error(`cannot write out the type ${alias.name.text}`);
  return printer.printNode(ts.EmitHint.Unspecified, multiline(node), source);
}

/** The node builder marks object types single-line; a reader of the package's types wants one property a line. */
function multiline<T extends ts.Node>(node: T): T {
  ts.setEmitFlags(node, ts.EmitFlags.None);
  ts.forEachChild(node, multiline);
  return node;
}

const printer = ts.createPrinter({ newLine: ts.NewLineKind.LineFeed });

function leadingDoc(source: ts.SourceFile, node: ts.Node): string {
  const ranges = ts.getLeadingCommentRanges(source.text, node.pos) ?? [];
  return ranges.map((range) => `${source.text.slice(range.pos, range.end)}\n`).join("");
}
