/**
 * The layering of docs/architecture.md holds in the code: no import cycle,
 * no import across a line the table does not allow. The checker itself is
 * tested on a small graph, so that a broken checker cannot pass the code.
 */
import { describe, expect, test } from "bun:test";
import { findCycles, layeringViolations, readImportGraph, readLayers, type ImportGraph, type Layer } from "../../scripts/import-graph.ts";

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

  test("core never imports plugins or drivers, and only the composition root names them", () => {
    const importers = [...graph].filter(([, targets]) => targets.some((target) => /^(plugins|drivers)\//.test(target)));
    const outside = importers.map(([file]) => file).filter((file) => !/^(plugins|drivers|src\/composition)\//.test(file) && file !== "src/client/types.ts");
    expect(outside).toEqual([]);
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
