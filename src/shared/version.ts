import pkg from "../../package.json" with { type: "json" };

// Replaced at build time by scripts/build.sh (`--define`); absent under `bun run`.
declare const BAY_BUILD_COMMIT: string | undefined;

export const VERSION: string = pkg.version;
export const COMMIT: string = typeof BAY_BUILD_COMMIT === "string" ? BAY_BUILD_COMMIT : "dev";
