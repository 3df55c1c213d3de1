import { defineConfig } from "drizzle-kit";

// `bun run db:generate` writes a new SQL migration after a schema change;
// add it to src/db/migrations/index.ts so the compiled binary embeds it.
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/schema.ts",
  out: "./src/db/migrations",
});
