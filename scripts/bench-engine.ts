/**
 * The Docker engine's own API over its unix socket, for baselines that leave
 * out the docker CLI, and for cleaning up by label.
 */
const SOCKET = "/var/run/docker.sock";

async function engine(method: string, path: string, body?: unknown, options: { missingIsFine?: boolean } = {}): Promise<Response> {
  const response = await fetch(`http://localhost/v1.41${path}`, {
    method,
    unix: SOCKET,
    headers: body === undefined ? undefined : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.ok || (options.missingIsFine && response.status === 404)) return response;
  throw new Error(`engine ${method} ${path}: ${response.status} ${await response.text()}`);
}

const json = async <T>(method: string, path: string, body?: unknown): Promise<T> => (await (await engine(method, path, body)).json()) as T;

/**
 * What Bay's cold start does, done by hand: a volume, a container on
 * `network` (the default bridge unless given) with it on /workspace,
 * started, and a first `python3 -c 'print(1)'` through the exec API, read to
 * its end. Answers the time that took; removing both afterwards is not timed.
 */
export async function engineColdStart(image: string, label: string, network = "bridge"): Promise<number> {
  const labels = labelObject(label);
  const started = performance.now();
  const volume = (await json<{ Name: string }>("POST", "/volumes/create", { Labels: labels })).Name;
  let container: string | undefined;
  try {
    container = (
      await json<{ Id: string }>("POST", "/containers/create", {
        Image: image,
        Cmd: ["sleep", "infinity"],
        Labels: labels,
        HostConfig: { Binds: [`${volume}:/workspace`], NetworkMode: network },
      })
    ).Id;
    await engine("POST", `/containers/${container}/start`);
    const exec = (await json<{ Id: string }>("POST", `/containers/${container}/exec`, { AttachStdout: true, AttachStderr: true, Cmd: ["python3", "-c", "print(1)"] })).Id;
    await (await engine("POST", `/exec/${exec}/start`, { Detach: false, Tty: false })).arrayBuffer();
    const elapsed = performance.now() - started;
    const { ExitCode } = await json<{ ExitCode: number }>("GET", `/exec/${exec}/json`);
    if (ExitCode !== 0) throw new Error(`the engine's exec of python3 exited ${ExitCode}`);
    return elapsed;
  } finally {
    if (container) await engine("DELETE", `/containers/${container}?force=1`, undefined, { missingIsFine: true });
    await engine("DELETE", `/volumes/${volume}?force=1`, undefined, { missingIsFine: true });
  }
}

/** The network Bay made for a network policy (`internet`, …), once a sandbox with that policy has started. */
export async function policyNetwork(policy: string): Promise<string | undefined> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`bay.network_policy=${policy}`] }));
  return (await json<{ Name: string }[]>("GET", `/networks?filters=${filters}`))[0]?.Name;
}

/** A container's memory as `docker stats` counts it: usage less the inactive page cache (cgroup v1 and v2). */
export async function containerMemoryMb(container: string): Promise<number> {
  const { memory_stats: memory } = await json<{ memory_stats: { usage: number; stats: Record<string, number> } }>(
    "GET",
    `/containers/${container}/stats?stream=false&one-shot=true`,
  );
  const inactive = memory.stats.total_inactive_file ?? memory.stats.inactive_file ?? 0;
  return (memory.usage - inactive) / 1024 / 1024;
}

/**
 * Until the daemon of `instanceId` keeps `count` network slots ready on `network`
 * again, so that its refill (engine work in the background) does not overlap
 * the next measurement, its own or a baseline's. Ready: running holders that
 * no container has joined (those of running sandboxes carry the same labels).
 */
export async function untilNetworkSlotsReady(instanceId: string, network = "bay-internet", count = 2): Promise<void> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`bay.instance_id=${instanceId}`], status: ["running", "created"] }));
  let holders: string[] = [];
  for (let attempt = 0; attempt < 600; attempt++) {
    const containers = await json<{ Id: string; State: string; Status: string; Labels: Record<string, string>; HostConfig: { NetworkMode?: string } }[]>(
      "GET",
      `/containers/json?all=1&filters=${filters}`,
    );
    const joined = new Set(containers.map((c) => holderIn(c.HostConfig.NetworkMode)));
    const ready = containers.filter((c) => c.State === "running" && c.Labels["bay.network_slot"] === network && !joined.has(c.Id));
    if (ready.length >= count) return;
    holders = containers
      .filter((c) => c.Labels["bay.network_slot"] !== undefined)
      .map((c) => `${c.Id.slice(0, 12)} ${c.Labels["bay.network_slot"]} ${c.Status}${joined.has(c.Id) ? " joined" : ""}`);
    await Bun.sleep(25);
  }
  throw new Error(`the daemon did not make ${count} network slots on ${network} within 15 s; its holders: ${holders.join("; ") || "none"}`);
}

/** The network slot's holder whose namespace a container joined (drivers/docker/network-slots.ts), or null. */
export async function joinedHolder(container: string): Promise<string | null> {
  return holderIn((await json<{ HostConfig: { NetworkMode?: string } }>("GET", `/containers/${container}/json`)).HostConfig.NetworkMode);
}

/** The container whose namespace a network mode joins (`container:<id>`), or null. */
function holderIn(networkMode: string | undefined): string | null {
  return networkMode?.startsWith("container:") ? networkMode.slice("container:".length) : null;
}

/**
 * Removes every container and volume with this label (`key=value`), waiting
 * for removals already under way (the engine refuses a second one with 409).
 */
export async function removeLabelled(label: string): Promise<void> {
  const filters = encodeURIComponent(JSON.stringify({ label: [label] }));
  const remove = (path: string) => engine("DELETE", path, undefined, { missingIsFine: true }).catch(() => undefined);
  for (let attempt = 0; attempt < 100; attempt++) {
    const containers = await json<{ Id: string }[]>("GET", `/containers/json?all=1&filters=${filters}`);
    await Promise.all(containers.map((c) => remove(`/containers/${c.Id}?force=1`)));
    const { Volumes: volumes } = await json<{ Volumes: { Name: string }[] | null }>("GET", `/volumes?filters=${filters}`);
    await Promise.all((volumes ?? []).map((v) => remove(`/volumes/${v.Name}?force=1`)));
    if (!containers.length && !volumes?.length) return;
    await Bun.sleep(200);
  }
  throw new Error(`containers or volumes labelled ${label} are still there after a minute of removing them`);
}

function labelObject(label: string): Record<string, string> {
  const [key, value] = label.split("=", 2) as [string, string?];
  return { [key]: value ?? "" };
}
