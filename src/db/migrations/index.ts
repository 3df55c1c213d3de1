// Literal imports so that `bun build --compile` embeds every migration.
// A unit test fails when a .sql file in this folder is missing here.
import initial from "./0000_initial.sql" with { type: "text" };
import lifecycle from "./0001_lifecycle.sql" with { type: "text" };
import runtimeVersion from "./0002_runtime_version.sql" with { type: "text" };
import sandboxMetadataEnv from "./0003_sandbox_metadata_env.sql" with { type: "text" };
import sandboxAccessToken from "./0004_sandbox_access_token.sql" with { type: "text" };
import replicas from "./0005_replicas.sql" with { type: "text" };

export interface Migration {
  name: string;
  sql: string;
}

export const MIGRATIONS: Migration[] = [
  { name: "0000_initial", sql: initial },
  { name: "0001_lifecycle", sql: lifecycle },
  { name: "0002_runtime_version", sql: runtimeVersion },
  { name: "0003_sandbox_metadata_env", sql: sandboxMetadataEnv },
  { name: "0004_sandbox_access_token", sql: sandboxAccessToken },
  { name: "0005_replicas", sql: replicas },
];
