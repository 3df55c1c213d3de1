#!/usr/bin/env bun
async function main(): Promise<void> {
  // A network slot's holder lives as long as its sandbox: it loads nothing but its own module (src/cli/hold.ts).
  if (process.argv[2] === "hold") return (await import("./cli/hold.ts")).runHold(process.argv.slice(3));
  const [{ runMain }, { consola }, { mainCommand }] = await Promise.all([import("citty"), import("consola"), import("./cli/main.ts")]);
  process.on("unhandledRejection", (reason) => consola.error("unhandled rejection", reason));
  await runMain(mainCommand);
}

void main();
