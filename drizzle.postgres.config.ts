import { defineConfig } from "drizzle-kit";

// `bunx drizzle-kit generate --config drizzle.postgres.config.ts` writes a new Postgres migration after a
// change to src/db/postgres-schema.ts; add it to src/db/postgres-migrations/index.ts so the binary embeds it.
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/db/postgres-schema.ts",
  out: "./src/db/postgres-migrations",
});
