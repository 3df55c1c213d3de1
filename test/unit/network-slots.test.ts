/**
 * The network slot pool's bookkeeping (drivers/docker/network-slots.ts) over a
 * stand-in engine that makes holders at once; what holders are and do on the
 * real engine is test/security/network-policy.test.ts's.
 */
import { describe, expect, test } from "bun:test";
import type Docker from "dockerode";
import { NetworkSlots, type SlotTemplate } from "../../drivers/docker/network-slots.ts";

const TEMPLATE: SlotTemplate = {
  labels: { "bay.managed": "true", "bay.instance_id": "unit" },
  network: "bay-internet",
  image: "bay-python:local",
  program: { bind: "/x:/opt/bay/slot-holder:ro", entrypoint: ["/opt/bay/slot-holder"], env: [] },
  agentPort: 8123,
  agentSocket: null,
  publishOn: null,
  sysctls: undefined,
};

/** An engine whose holders are made at once; what was created and removed. */
function fakeEngine() {
  const created: string[] = [];
  const removed: string[] = [];
  const docker = {
    async createContainer() {
      const id = `holder-${created.length + 1}`;
      created.push(id);
      return { id, start: async () => undefined, inspect: async () => ({ Id: id }) };
    },
    getContainer: (id: string) => ({ remove: async () => void removed.push(id) }),
    listContainers: async () => [],
  } as unknown as Docker;
  return { docker, created, removed };
}

async function settled(): Promise<void> {
  for (let i = 0; i < 20; i++) await Bun.sleep(1);
}

describe("network slots", () => {
  test("a start claims a ready holder and the network is topped up again, one holder per claim", async () => {
    const engine = fakeEngine();
    const slots = new NetworkSlots(engine.docker, (_action, call) => call(), 2, () => "http://holder:8123");
    slots.start();
    try {
      // The first start on a network finds none ready; from then on the network keeps two.
      expect(slots.claim(TEMPLATE)).toBeNull();
      await settled();
      expect(engine.created).toEqual(["holder-1", "holder-2"]);
      expect(slots.claim(TEMPLATE)).toEqual({ holderId: "holder-1", endpoint: "http://holder:8123" });
      await settled();
      expect(engine.created).toEqual(["holder-1", "holder-2", "holder-3"]);
    } finally {
      await slots.close();
    }
    // Closing removes the ones no start took.
    expect(engine.removed.sort()).toEqual(["holder-2", "holder-3"]);
  });

  test("a network that was full when the periodic top-up came is still topped up after its next claim", async () => {
    const engine = fakeEngine();
    const slots = new NetworkSlots(engine.docker, (_action, call) => call(), 2, () => "http://holder:8123");
    slots.start();
    try {
      slots.claim(TEMPLATE);
      await settled();
      expect(engine.created).toHaveLength(2);
      // The minute's tick, with nothing to make on this network.
      (slots as unknown as { tick(): void }).tick();
      await settled();
      expect(slots.claim(TEMPLATE)?.holderId).toBe("holder-1");
      await settled();
      expect(engine.created).toHaveLength(3);
    } finally {
      await slots.close();
    }
  });
});
