/**
 * Bay's import graph, read from the sources: which module imports which
 * (static, dynamic and type-only imports alike), the layers written in
 * docs/architecture.md, and the picture of both in that document.
 *
 *   bun scripts/import-graph.ts            prints the layer picture (Mermaid)
 *   bun scripts/import-graph.ts --check    exits 1 on a cycle or a layering violation
 *
 * test/unit/layering.test.ts runs the same checks.
 */
import { Glob } from "bun";
import { existsSync, readFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";

export const REPO_ROOT = resolve(import.meta.dir, "..");
const SOURCE_GLOB = "{src,plugins,drivers,front-doors}/**/*.ts";
const ARCHITECTURE_DOC = "docs/architecture.md";

/** Module path (relative to the repository) → the modules it imports. */
export type ImportGraph = Map<string, string[]>;

const IMPORT_PATTERN = /(?:\bimport|\bexport)\s[^'";]*?\bfrom\s*["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']\s*\)|\bimport\s+["']([^"']+)["']/g;

/**
 * Every relative import of every source module; imports of packages
 * (elysia, node:fs) are left out. Without `dynamic`, only the imports a
 * module loads as it loads: `import(…)` and type-only imports (erased by
 * the build) are left out.
 */
export function readImportGraph(root = REPO_ROOT, { dynamic = true } = {}): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const file of [...new Glob(SOURCE_GLOB).scanSync(root)].sort()) {
    const text = readFileSync(resolve(root, file), "utf8");
    const targets = new Set<string>();
    for (const match of text.matchAll(IMPORT_PATTERN)) {
      if (!dynamic && (match[2] !== undefined || /^(import|export)\s+type\s/.test(match[0]))) continue;
      const specifier = match[1] ?? match[2] ?? match[3]!;
      if (!specifier.startsWith(".")) continue;
      targets.add(relative(root, resolve(root, dirname(file), specifier)));
    }
    graph.set(file, [...targets].sort());
  }
  return graph;
}

/** Groups of modules that import each other in a circle (Tarjan's strongly connected components), each sorted. */
export function findCycles(graph: ImportGraph): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (node: string) => {
    index.set(node, counter);
    low.set(node, counter);
    counter++;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || (graph.get(node) ?? []).includes(node)) cycles.push(component.sort());
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return cycles;
}

export interface Layer {
  name: string;
  /** Path patterns: `src/core/` (a folder), `src/main.ts` (a file), `plugins/*\/` (each folder its own unit). */
  paths: string[];
  /** Layers, or path patterns, that this layer's modules may import besides their own unit. */
  mayImport: string[];
}

/**
 * The layer table of docs/architecture.md: the rows under the heading that
 * ends in "(checked)". A cell lists `code` spans; "—" is none.
 */
export function readLayers(root = REPO_ROOT): Layer[] {
  const doc = readFileSync(resolve(root, ARCHITECTURE_DOC), "utf8");
  const section = doc.split(/^## /m).find((part) => /^[^\n]*\(checked\)/.test(part));
  if (!section) throw new Error(`${ARCHITECTURE_DOC} has no "## … (checked)" section with the layer table`);
  const codeSpans = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((match) => match[1]!);
  return section
    .split("\n")
    .filter((line) => line.startsWith("|") && !/^\|\s*-/.test(line))
    .slice(1)
    .map((line) => line.split("|").slice(1, -1).map((cell) => cell.trim()))
    .map(([name, paths, mayImport]) => ({ name: codeSpans(name!)[0] ?? name!, paths: codeSpans(paths!), mayImport: codeSpans(mayImport!) }));
}

/** Where a module sits: its layer and its unit (a plugin's or driver's own folder, else the layer itself). */
export function placeOf(file: string, layers: Layer[]): { layer: Layer; unit: string } | null {
  for (const layer of layers) {
    for (const pattern of layer.paths) {
      const unit = matchPattern(pattern, file);
      if (unit !== null) return { layer, unit: `${layer.name}:${unit}` };
    }
  }
  return null;
}

/** `plugins/*\/` matches plugins/python/x.ts with unit "plugins/python/"; a folder or file pattern is one unit. */
function matchPattern(pattern: string, file: string): string | null {
  if (!pattern.includes("*")) return pattern.endsWith("/") ? (file.startsWith(pattern) ? pattern : null) : file === pattern ? pattern : null;
  const expression = new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]+")}`);
  const found = file.match(expression);
  return found ? found[0] : null;
}

/** Imports that break the table, as "from → to: why". */
export function layeringViolations(graph: ImportGraph, layers: Layer[]): string[] {
  const violations: string[] = [];
  for (const [file, targets] of graph) {
    const from = placeOf(file, layers);
    if (!from) {
      violations.push(`${file}: in no layer of ${ARCHITECTURE_DOC}`);
      continue;
    }
    for (const target of targets) {
      if (!graph.has(target) && !existsSync(resolve(REPO_ROOT, target))) {
        violations.push(`${file} → ${target}: no such module`);
        continue;
      }
      const to = placeOf(target, layers);
      if (to && to.unit === from.unit) continue;
      const allowed = from.layer.mayImport.some((entry) =>
        layers.some((layer) => layer.name === entry) ? to?.layer.name === entry : matchPattern(entry, target) !== null,
      );
      if (!allowed) violations.push(`${file} → ${target}: ${from.layer.name} may not import ${to ? to.layer.name : "it"}`);
    }
  }
  return violations;
}

/**
 * The layers and which imports the other, as the code actually has them: a
 * Mermaid flowchart. Arrows say that a layer imports another, not how often,
 * so the picture changes only when the architecture does.
 */
export function layerPicture(graph: ImportGraph, layers: Layer[]): string {
  const edges = new Set<string>();
  for (const [file, targets] of graph) {
    const from = placeOf(file, layers)?.layer.name;
    for (const target of targets) {
      const to = placeOf(target, layers)?.layer.name;
      if (!from || !to || from === to) continue;
      edges.add(`${from} --> ${to}`);
    }
  }
  const id = (name: string) => name.replace(/[^A-Za-z0-9]/g, "_");
  const lines = ["flowchart TD"];
  for (const layer of layers) lines.push(`  ${id(layer.name)}["${layer.name}<br/>${layer.paths.join(" ")}"]`);
  for (const edge of [...edges].sort()) {
    const [from, to] = edge.split(" --> ");
    lines.push(`  ${id(from!)} --> ${id(to!)}`);
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const graph = readImportGraph();
  const layers = readLayers();
  if (process.argv.includes("--check")) {
    const problems = [...findCycles(graph).map((cycle) => `cycle: ${cycle.join(" ⇄ ")}`), ...layeringViolations(graph, layers)];
    for (const problem of problems) console.log(problem);
    console.log(problems.length === 0 ? `${graph.size} modules: no cycle, no layering violation` : `${problems.length} problem(s)`);
    process.exit(problems.length === 0 ? 0 : 1);
  }
  console.log(layerPicture(graph, layers));
}
