// Literal imports so that `bun build --compile` embeds every migration.
// A unit test fails when a .sql file in this folder is missing here.
import initial from "./0000_initial.sql" with { type: "text" };
import replicas from "./0001_replicas.sql" with { type: "text" };
import type { Migration } from "../migrations/index.ts";

export const POSTGRES_MIGRATIONS: Migration[] = [
  { name: "0000_initial", sql: initial },
  { name: "0001_replicas", sql: replicas },
];
