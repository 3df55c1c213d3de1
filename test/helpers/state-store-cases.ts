/**
 * The state store's behaviour, the same on every backend: test/unit/state.test.ts
 * runs it on SQLite, test/postgres/state-store.test.ts on Postgres.
 */
import { describe, expect, test } from "bun:test";
import { StateStore } from "../../src/core/state-store.ts";
import type { StateDatabase } from "../../src/db/state-database.ts";
import type { CargoRow, SandboxRow, SessionRow } from "../../src/db/schema.ts";
import { BayError } from "../../src/shared/errors.ts";
import { rejectedWith } from "./thrown.ts";

export function sandboxRow(overrides: Partial<SandboxRow> = {}): SandboxRow {
  return {
    id: "sandbox-aaaaaaaaaaaa",
    owner: "alice",
    profileId: "python-default",
    cargoId: "ws-aaaaaaaaaaaa",
    createdAt: 1000,
    expiresAt: null,
    deletedAt: null,
    lastStartError: null,
    stateResetAt: null,
    stateResetReason: null,
    metadata: "{}",
    env: "{}",
    accessTokenHash: null,
    ...overrides,
  };
}

export function cargoRow(overrides: Partial<CargoRow> = {}): CargoRow {
  return {
    id: "ws-aaaaaaaaaaaa",
    owner: "alice",
    managed: false,
    managedBySandboxId: null,
    volumeName: "bay-cargo-ws-aaaaaaaaaaaa",
    sizeLimitMb: 1024,
    createdAt: 1000,
    lastAccessedAt: 1000,
    deletedAt: null,
    ...overrides,
  };
}

/** A store on a fresh database, with the external cargo the sandbox rows attach to. */

export function sessionRow(status: SessionRow["status"]): SessionRow {
  return {
    id: "sess-aaaaaaaaaaaa",
    sandboxId: "sandbox-aaaaaaaaaaaa",
    status,
    containerId: null,
    endpoint: null,
    token: "t",
    createdAt: 1000,
    startedAt: null,
    stoppedAt: null,
    lastActiveAt: 1000,
    idleExpiresAt: null,
    previousSessionId: null,
    endReason: null,
    runtimeVersion: null,
    replicaId: null,
  };
}

/** The store's cases on a backend; `open` gives a fresh, empty state each time. */
export function stateStoreCases(backend: string, open: () => Promise<StateDatabase>): void {
  /** A store on a fresh database, with the external cargo the sandbox rows attach to. */
  async function freshStore(): Promise<StateStore> {
    const store = new StateStore(await open());
    await store.insertCargo(cargoRow());
    return store;
  }

  describe(`state store (${backend})`, () => {
    test("sandboxes are scoped to their owner and listed in insertion order, ties on the clock included", async () => {
      const store = await freshStore();
      // Same millisecond, ids that sort against insertion order.
      const ids: string[] = ["sandbox-00000000000f", "sandbox-00000000000a", "sandbox-000000000005"];
      for (const id of ids) await store.insertSandbox(sandboxRow({ id, createdAt: 100 }), null);
      await store.insertSandbox(sandboxRow({ id: "sandbox-0000000000bb", owner: "bob", createdAt: 100 }), null);
  
      expect(await store.findSandbox("bob", "sandbox-00000000000a")).toBeUndefined();
      const all = await store.listSandboxes("alice", null, 10);
      expect(all.map((s) => s.id)).toEqual(ids);
      expect((await store.listSandboxes("alice", all[0]!.position, 10)).map((s) => s.id)).toEqual(ids.slice(1));
      expect((await store.listSandboxes("alice", all[0]!.position, 1)).map((s) => s.id)).toEqual(ids.slice(1, 2));
  
      await store.markSandboxDeleted(ids[1]!, 200);
      expect((await store.listSandboxes("alice", null, 10)).map((s) => s.id)).toEqual([ids[0]!, ids[2]!]);
      expect((await store.findSandbox("alice", ids[1]!))?.deletedAt).toBe(200);
    });
  
    test("a call's prepared statements touch only the rows they name: the running session's activity, the cargo's access time", async () => {
      const store = await freshStore();
      await store.insertCargo(cargoRow({ id: "ws-bbbbbbbbbbbb", volumeName: "bay-cargo-ws-bbbbbbbbbbbb" }));
      await store.insertSandbox(sandboxRow(), null);
      await store.insertSession({ ...sessionRow("stopped"), id: "sess-bbbbbbbbbbbb" }, "alice");
      await store.touchRunningSession("sandbox-aaaaaaaaaaaa", { lastActiveAt: 4000, idleExpiresAt: 8000 });
      expect(await store.findSession("sess-bbbbbbbbbbbb")).toMatchObject({ lastActiveAt: 1000, idleExpiresAt: null });
      await store.insertSession(sessionRow("running"), "alice");
      await store.touchRunningSession("sandbox-aaaaaaaaaaaa", { lastActiveAt: 5000, idleExpiresAt: 9000 });
      expect(await store.findSession("sess-aaaaaaaaaaaa")).toMatchObject({ lastActiveAt: 5000, idleExpiresAt: 9000, status: "running" });
      expect(await store.findSession("sess-bbbbbbbbbbbb")).toMatchObject({ lastActiveAt: 1000, idleExpiresAt: null });
      await store.touchCargo("ws-aaaaaaaaaaaa", 7000);
      expect((await store.findCargo("alice", "ws-aaaaaaaaaaaa"))?.lastAccessedAt).toBe(7000);
      expect((await store.findCargo("alice", "ws-bbbbbbbbbbbb"))?.lastAccessedAt).toBe(1000);
      // The same prepared lookups, asked again with other values, answer for those values.
      expect((await store.activeSessions("sandbox-aaaaaaaaaaaa")).map((row) => row.id)).toEqual(["sess-aaaaaaaaaaaa"]);
      expect(await store.activeSessions("sandbox-000000000000")).toEqual([]);
      expect((await store.findSandbox("alice", "sandbox-aaaaaaaaaaaa"))?.id).toBe("sandbox-aaaaaaaaaaaa");
      expect(await store.findSandbox("bob", "sandbox-aaaaaaaaaaaa")).toBeUndefined();
    });
  
    test("a failed start stops the session and records the reason; a later success clears it", async () => {
      const store = await freshStore();
      await store.insertSandbox(sandboxRow(), null);
      const session = sessionRow("starting");
      await store.insertSession(session, "alice");
      expect((await store.activeSession(session.sandboxId))?.id).toBe(session.id);
      await store.markSessionFailed(session, "image missing", 2000);
      expect(await store.activeSession(session.sandboxId)).toBeUndefined();
      expect((await store.findSandbox("alice", session.sandboxId))?.lastStartError).toBe("image missing");
  
      const retry = { ...sessionRow("starting"), id: "sess-bbbbbbbbbbbb", createdAt: 3000 };
      await store.insertSession(retry, "alice");
      await store.markSessionRunning(retry, { endpoint: "http://127.0.0.1:1" });
      expect(await store.activeSession(retry.sandboxId)).toMatchObject({ id: retry.id, status: "running", endpoint: "http://127.0.0.1:1" });
      expect((await store.findSandbox("alice", retry.sandboxId))?.lastStartError).toBeNull();
    });
  
    test("one active session per sandbox; only a starting session becomes running or is abandoned", async () => {
      const store = await freshStore();
      await store.insertSandbox(sandboxRow(), null);
      const first = sessionRow("starting");
      expect(await store.insertSession(first, "alice")).toBe(true);
      // Another replica's start of the same sandbox: refused, nothing written.
      expect(await store.insertSession({ ...sessionRow("starting"), id: "sess-bbbbbbbbbbbb" }, "alice")).toBe(false);
      expect((await store.activeSessions(first.sandboxId)).map((row) => row.id)).toEqual([first.id]);
      // Stopped meanwhile (a stop on another replica): its start may not mark it running, nor be abandoned.
      await store.markSessionStopped(first.id, 2000, "stopped");
      expect(await store.markSessionRunning(first, { endpoint: "http://127.0.0.1:1" })).toBe(false);
      expect(await store.abandonStartingSession(first.id, 2500)).toBe(false);
      expect(await store.findSession(first.id)).toMatchObject({ status: "stopped", endReason: "stopped" });
      const second = { ...sessionRow("starting"), id: "sess-cccccccccccc", createdAt: 3000 };
      expect(await store.insertSession(second, "alice")).toBe(true);
      expect(await store.abandonStartingSession(second.id, 4000)).toBe(true);
      expect(await store.findSession(second.id)).toMatchObject({ status: "stopped", endReason: "abandoned", stoppedAt: 4000 });
    });

    test("the cargo guard sees the owner's live external cargos only, and a refusal inserts nothing", async () => {
      const store = await freshStore();
      await store.insertCargo(cargoRow({ id: "ws-000000000001", managed: true, managedBySandboxId: "sandbox-000000000001" }));
      await store.insertCargo(cargoRow({ id: "ws-000000000002", owner: "bob" }));
      await store.insertCargo(cargoRow({ id: "ws-000000000003", deletedAt: 5 }));
      const seen: number[] = [];
      await store.insertCargo(cargoRow({ id: "ws-000000000004" }), (count) => seen.push(count));
      expect(seen).toEqual([1]);
      expect(await store.countExternalCargos("alice")).toBe(2);
      const refusal = new BayError("quota_exceeded", "full");
      await expect(
        store.insertCargo(cargoRow({ id: "ws-000000000005" }), () => {
          throw refusal;
        }),
      ).rejects.toThrow(refusal);
      expect(await store.findCargo("alice", "ws-000000000005")).toBeUndefined();
    });
  
    test("capExpiries brings only later expiries back to the bound", async () => {
      const store = await freshStore();
      await store.insertSandbox(sandboxRow({ id: "sandbox-000000000001", expiresAt: 9e15 }), null);
      await store.insertSandbox(sandboxRow({ id: "sandbox-000000000002", expiresAt: 5000 }), null);
      await store.insertSandbox(sandboxRow({ id: "sandbox-000000000003", expiresAt: null }), null);
      expect(await store.capExpiries(10_000)).toBe(1);
      const expiries = await Promise.all(["1", "2", "3"].map(async (n) => (await store.findSandbox("alice", `sandbox-00000000000${n}`))?.expiresAt));
      expect(expiries).toEqual([10_000, 5000, null]);
    });
  
    test("a cargo in use by a live sandbox is not deleted; a deleted cargo cannot be attached", async () => {
      const store = await freshStore();
      await store.insertSandbox(sandboxRow({ id: "sandbox-000000000001" }), null);
      await store.insertSandbox(sandboxRow({ id: "sandbox-000000000002" }), null);
      expect((await store.deleteCargoIfUnused("ws-aaaaaaaaaaaa", 5)).activeSandboxIds).toEqual(["sandbox-000000000001", "sandbox-000000000002"]);
      expect(await store.findCargo("alice", "ws-aaaaaaaaaaaa")).toBeDefined();
  
      await store.markSandboxDeleted("sandbox-000000000001", 6);
      await store.markSandboxDeleted("sandbox-000000000002", 6);
      expect((await store.deleteCargoIfUnused("ws-aaaaaaaaaaaa", 7)).activeSandboxIds).toEqual([]);
      expect(await store.findCargo("alice", "ws-aaaaaaaaaaaa")).toBeUndefined();
      expect((await store.findCargoRecord("alice", "ws-aaaaaaaaaaaa"))?.deletedAt).toBe(7);
  
      const error = await rejectedWith(BayError, store.insertSandbox(sandboxRow({ id: "sandbox-000000000003" }), null));
      expect(error.code).toBe("not_found");
      expect(await store.findSandbox("alice", "sandbox-000000000003")).toBeUndefined();
    });
  });
}
