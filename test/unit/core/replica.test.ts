/**
 * Replicas sharing one state database, played by two Replica objects on one
 * store: a lease is one holder's at a time, is given back at the end of the
 * work, and is taken over once its holder stops renewing it.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Replica, type ReplicaTiming } from "../../../src/core/replica.ts";
import { StateStore } from "../../../src/core/state-store.ts";
import { openDatabase, sqliteState } from "../../../src/db/database.ts";

/** Short beats and leases, so that a takeover takes a fraction of a second. */
const FAST: ReplicaTiming = { heartbeatMs: 50, leaseTtlMs: 300, deadAfterMs: 500 };
const quick = (store: StateStore) => new Replica(store, undefined, FAST);

const sharedStore = () => new StateStore(sqliteState(openDatabase(mkdtempSync(join(tmpdir(), "bay-replica-")))));

describe("replicas", () => {
  test("work under a lease never overlaps between replicas; the second waits, or gives up when told not to wait", async () => {
    const store = sharedStore();
    const [a, b] = [quick(store), quick(store)];
    await Promise.all([a.start(), b.start()]);
    const spans: { who: string; from: number; to: number }[] = [];
    const work = (who: string) => async () => {
      const from = performance.now();
      await Bun.sleep(150);
      spans.push({ who, from, to: performance.now() });
      return who;
    };
    const results = await Promise.all([a.withLease("pass", 5000, work("a")), b.withLease("pass", 5000, work("b")), a.withLease("pass", 5000, work("a2"))]);
    expect(results.sort()).toEqual(["a", "a2", "b"]);
    spans.sort((x, y) => x.from - y.from);
    for (let i = 1; i < spans.length; i++) expect(spans[i]!.from).toBeGreaterThanOrEqual(spans[i - 1]!.to);

    const held = a.withLease("pass", 0, () => Bun.sleep(300));
    await Bun.sleep(50);
    expect(await b.withLease("pass", 0, async () => "b")).toBeNull();
    await held;
    expect(await b.withLease("pass", 0, async () => "b")).toBe("b");
    await Promise.all([a.stop(), b.stop()]);
  });

  test("the leader lease is one replica's; when it stops renewing, another takes it within the lease's time", async () => {
    const store = sharedStore();
    const [a, b] = [quick(store), quick(store)];
    await a.start();
    await a.lead();
    await b.start();
    await b.lead();
    expect([a.isLeader(), b.isLeader()]).toEqual([true, false]);
    // a dies without a word: no more beats, no release.
    (a as unknown as { timer: Timer | null }).timer && clearInterval((a as unknown as { timer: Timer }).timer);
    const diedAt = Date.now();
    while (!b.isLeader() && Date.now() - diedAt < FAST.leaseTtlMs + 2000) await Bun.sleep(20);
    expect(b.isLeader()).toBe(true);
    // Same process, so its pid lives on: only its silent beats tell that it is gone.
    while (Date.now() - diedAt < FAST.deadAfterMs + 100) await Bun.sleep(20);
    expect(await b.isAlive(a.id)).toBe(false);
    await b.stop();
  });

  test("a replica that never beat, or whose process on this host is gone, is not alive; this one is", async () => {
    const store = sharedStore();
    const a = quick(store);
    await a.start();
    expect(await a.isAlive(a.id)).toBe(true);
    expect(await a.isAlive(null)).toBe(false);
    expect(await a.isAlive("elsewhere-123-abcdef")).toBe(false);
    const [namespace] = a.id.split("-").slice(-3, -2);
    const host = a.id.split("-").slice(0, -3).join("-");
    expect(await a.isAlive(`${host}-${namespace}-4194999-abcdef`)).toBe(false);
    // The same pid in another pid namespace (another container on the host's network) is not taken for gone: only its beats tell.
    await store.heartbeat(`${host}-1-4194999-abcdef`, Date.now());
    expect(await a.isAlive(`${host}-1-4194999-abcdef`)).toBe(true);
    await a.stop();
  });
});
