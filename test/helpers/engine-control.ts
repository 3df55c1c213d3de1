/**
 * Stops and starts the machine's Docker engine, for the engine-restart test.
 * scripts/bootstrap.sh starts dockerd in the background the same way.
 */
export function engineAnswers(): boolean {
  return Bun.spawnSync(["docker", "info"], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
}

async function until(condition: () => boolean, seconds: number, what: string): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (condition()) return;
    await Bun.sleep(200);
  }
  throw new Error(`timed out waiting for ${what}`);
}

export async function stopEngine(): Promise<void> {
  Bun.spawnSync(["pkill", "-TERM", "-x", "dockerd"]);
  await until(() => !engineAnswers() && Bun.spawnSync(["pgrep", "-x", "dockerd"]).exitCode !== 0, 60, "dockerd to stop");
}

export async function startEngine(): Promise<void> {
  if (engineAnswers()) return;
  const child = Bun.spawn(["sh", "-c", "nohup dockerd >>/var/log/bay-dockerd.log 2>&1 &"], { stdio: ["ignore", "ignore", "ignore"] });
  await child.exited;
  await until(engineAnswers, 60, "dockerd to answer");
}
