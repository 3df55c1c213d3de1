#!/usr/bin/env bun
async function main(): Promise<void> {
  // A network slot's holder lives as long as its sandbox: it loads nothing but its own module (src/cli/hold.ts).
  if (process.argv[2] === "hold") return (await import("./cli/hold.ts")).runHold(process.argv.slice(3));
  // A one-shot in a shell script runs at every call: it parses its own arguments, without citty and consola (src/cli/exec.ts).
  if (process.argv[2] === "exec" && !process.argv.some((arg) => arg === "--help" || arg === "-h")) {
    process.on("unhandledRejection", (reason) => console.error("unhandled rejection", reason));
    return (await import("./cli/exec.ts")).runExec(process.argv.slice(3));
  }
  const [{ runMain }, { consola }, { mainCommand }] = await Promise.all([import("citty"), import("consola"), import("./cli/main.ts")]);
  process.on("unhandledRejection", (reason) => consola.error("unhandled rejection", reason));
  await runMain(mainCommand);
}

void main();
