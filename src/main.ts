#!/usr/bin/env bun
async function main(): Promise<void> {
  // A network slot's holder lives as long as its sandbox: it loads nothing but its own module (src/cli/hold.ts).
  if (process.argv[2] === "hold") return (await import("./cli/hold.ts")).runHold(process.argv.slice(3));
  // The commands that parse their own arguments run before citty and consola load: the agent of every sandbox
  // (a cold start waits for its start, src/cli/ship.ts) and a one-shot, which a shell script runs at every call
  // (src/cli/exec.ts). Their --help is citty's.
  const command = process.argv[2];
  if ((command === "ship" || command === "exec") && !process.argv.some((arg) => arg === "--help" || arg === "-h")) {
    process.on("unhandledRejection", (reason) => console.error("unhandled rejection", reason));
    const argv = process.argv.slice(3);
    return command === "ship" ? (await import("./cli/ship.ts")).runShip(argv) : (await import("./cli/exec.ts")).runExec(argv);
  }
  const [{ runMain }, { consola }, { mainCommand }] = await Promise.all([import("citty"), import("consola"), import("./cli/main.ts")]);
  process.on("unhandledRejection", (reason) => consola.error("unhandled rejection", reason));
  await runMain(mainCommand);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
