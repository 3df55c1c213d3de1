import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { useTestBay } from "../helpers/test-bay.ts";
import { TEST_IMAGE } from "../helpers/env.ts";

// Real containers start here; each test gets room, and no test asserts speed.
setDefaultTimeout(120_000);

const bay = useTestBay({
  background: true,
  config: { profiles: [{ id: "python-default", image: TEST_IMAGE }, { id: "pooled", image: TEST_IMAGE, warm_pool_size: 1 }] },
});

async function scrape(): Promise<Map<string, number>> {
  // Request metrics are recorded once the answer is sent; give the last one a moment.
  await Bun.sleep(50);
  const response = await bay.request("GET", "/metrics", undefined, { authorization: "" });
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toContain("text/plain");
  const samples = new Map<string, number>();
  for (const line of String(response.body).split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

describe("GET /metrics", () => {
  test("counts requests by route, method and status, with latency histograms", async () => {
    const sandbox = (await bay.request("POST", "/v1/sandboxes", {})).body;
    for (let i = 0; i < 3; i++) await bay.request("POST", `/v1/sandboxes/${sandbox.id}/python/exec`, { code: "1" });
    await bay.request("GET", "/v1/sandboxes/sandbox-000000000000");
    const samples = await scrape();
    expect(samples.get('bay_http_requests_total{route="/v1/sandboxes/:id/python/exec",method="POST",status="200"}')).toBe(3);
    expect(samples.get('bay_http_requests_total{route="/v1/sandboxes/:id",method="GET",status="404"}')).toBe(1);
    expect(samples.get('bay_http_request_duration_seconds_count{route="/v1/sandboxes/:id/python/exec",method="POST"}')).toBe(3);
    expect(samples.get('bay_http_request_duration_seconds_bucket{route="/v1/sandboxes/:id/python/exec",method="POST",le="+Inf"}')).toBe(3);
    expect(samples.get('bay_container_start_seconds_count{profile="python-default"}')).toBe(1);
    expect(samples.get('bay_sandboxes{status="ready"}')).toBe(1);
    expect(samples.get("bay_running_sessions")).toBeGreaterThanOrEqual(1);
  });

  test("reports the warm pool and its claims, and collector runs", async () => {
    for (let i = 0; i < 300 && (await scrape()).get('bay_warm_pool_ready{profile="pooled"}') !== 1; i++) await Bun.sleep(100);
    let samples = await scrape();
    expect(samples.get('bay_warm_pool_ready{profile="pooled"}')).toBe(1);
    expect(samples.get('bay_warm_pool_target{profile="pooled"}')).toBe(1);
    await bay.request("POST", "/v1/sandboxes", { profile: "pooled" });
    await bay.request("POST", "/v1/admin/gc/run");
    samples = await scrape();
    expect(samples.get('bay_warm_pool_claims_total{profile="pooled"}')).toBe(1);
    expect(samples.get("bay_gc_runs_total")).toBeGreaterThanOrEqual(1);
    // Pool members are not counted as sandboxes of anyone.
    expect(samples.get('bay_sandboxes{status="ready"}')).toBe(2);
  });
});

/** The entries of a Server-Timing header, by name (ms). */
function serverTimings(headers: Headers): Map<string, number> {
  const entries = new Map<string, number>();
  for (const entry of (headers.get("server-timing") ?? "").split(",")) {
    const [name, ...params] = entry.trim().split(";");
    const duration = params.find((param) => param.startsWith("dur="));
    if (name && duration) entries.set(name, Number(duration.slice(4)));
  }
  return entries;
}

describe("Server-Timing", () => {
  test("a cold start says where its time went, phase by phase; a call on a running session only its exec", async () => {
    const created = await bay.request("POST", "/v1/sandboxes", {});
    expect([...serverTimings(created.headers).keys()]).toEqual(["volume"]);
    const first = await bay.request("POST", `/v1/sandboxes/${created.body.id}/python/exec`, { code: "print(1)" });
    expect(first.body.success).toBe(true);
    const phases = serverTimings(first.headers);
    for (const phase of ["image", "network", "container-create", "container-start", "agent-boot", "ready-python", "handshake", "exec"]) {
      expect(phases.get(phase)).toBeGreaterThanOrEqual(0);
    }
    // The phases happen one after another within the call.
    const sum = [...phases.values()].reduce((a, b) => a + b, 0);
    expect(sum).toBeGreaterThan(0);
    const second = await bay.request("POST", `/v1/sandboxes/${created.body.id}/python/exec`, { code: "1" });
    expect([...serverTimings(second.headers).keys()]).toEqual(["exec"]);
    await bay.request("DELETE", `/v1/sandboxes/${created.body.id}`);
  });
});
