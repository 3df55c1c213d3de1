/**
 * The layering of docs/architecture.md holds in the code: no import cycle,
 * no import across a line the table does not allow. The checker itself is
 * tested on a small graph, so that a broken checker cannot pass the code.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import {
  REPO_ROOT,
  findCycles,
  layerPicture,
  layeringViolations,
  readImportGraph,
  readLayers,
  type ImportGraph,
  type Layer,
} from "../../scripts/import-graph.ts";

describe("the import graph", () => {
  const graph = readImportGraph();
  const layers = readLayers();

  test("covers every source module and names the layers of docs/architecture.md", () => {
    expect(graph.size).toBeGreaterThan(100);
    expect(layers.map((layer) => layer.name)).toEqual(
      expect.arrayContaining(["shared", "db", "core", "agent", "api", "kit", "plugin", "driver", "composition", "cli"]),
    );
  });

  test("has no import cycle", () => {
    expect(findCycles(graph)).toEqual([]);
  });

  test("has no import against the layering", () => {
    expect(layeringViolations(graph, layers)).toEqual([]);
  });

  test("only the composition root names plugins and drivers; elsewhere only their declarations (schemas, operations) are read", () => {
    const outside = [...graph]
      .filter(([file]) => !/^(plugins|drivers|src\/composition)\//.test(file))
      .flatMap(([file, targets]) => targets.filter((target) => /^(plugins|drivers)\//.test(target)).map((target) => `${file} → ${target}`));
    expect(outside.filter((edge) => !/→ plugins\/[^/]+\/(schemas|operations)\.ts$/.test(edge))).toEqual([]);
    expect(outside.filter((edge) => edge.startsWith("src/core/"))).toEqual([]);
  });
});

describe("docs/architecture.md", () => {
  const doc = readFileSync(resolve(REPO_ROOT, "docs/architecture.md"), "utf8");

  test("its layer picture is the one the code makes (regenerate it with bun scripts/import-graph.ts)", () => {
    const pictures = [...doc.matchAll(/```mermaid\n(flowchart[\s\S]*?)\n```/g)].map((match) => match[1]);
    expect(pictures).toEqual([layerPicture(readImportGraph(), readLayers())]);
  });

  test("every source path it names exists, outside its example capability", () => {
    const example = doc.slice(doc.indexOf("## Adding a capability"), doc.indexOf("## Adding a driver"));
    const named = [...doc.replace(example, "").matchAll(/`((?:src|plugins|drivers|test|scripts|docs)\/[^`*\s]+)`/g)].map((match) => match[1]!);
    expect(named.length).toBeGreaterThan(30);
    expect(named.filter((path) => !existsSync(resolve(REPO_ROOT, path)))).toEqual([]);
  });
});

describe("the checker", () => {
  const layers: Layer[] = [
    { name: "low", paths: ["low/"], mayImport: [] },
    { name: "unit", paths: ["units/*/"], mayImport: ["low"] },
    { name: "high", paths: ["high/"], mayImport: ["low", "units/*/api.ts"] },
  ];

  test("finds a cycle, including a module importing itself", () => {
    const graph: ImportGraph = new Map([
      ["low/a.ts", ["low/b.ts"]],
      ["low/b.ts", ["low/a.ts"]],
      ["low/c.ts", ["low/c.ts"]],
      ["low/d.ts", ["low/a.ts"]],
    ]);
    expect(findCycles(graph)).toEqual([["low/a.ts", "low/b.ts"], ["low/c.ts"]]);
  });

  test("refuses an upward import, an import between two units of one layer, and a module in no layer", () => {
    const graph: ImportGraph = new Map([
      ["low/a.ts", ["high/x.ts"]],
      ["units/one/a.ts", ["units/one/b.ts", "units/two/a.ts", "low/a.ts"]],
      ["units/one/b.ts", []],
      ["units/two/a.ts", []],
      ["units/two/api.ts", []],
      ["high/x.ts", ["units/two/api.ts", "units/two/a.ts", "low/a.ts"]],
      ["elsewhere/z.ts", []],
    ]);
    expect(layeringViolations(graph, layers)).toEqual([
      "low/a.ts → high/x.ts: low may not import high",
      "units/one/a.ts → units/two/a.ts: unit may not import unit",
      "high/x.ts → units/two/a.ts: high may not import unit",
      "elsewhere/z.ts: in no layer of docs/architecture.md",
    ]);
  });
});
