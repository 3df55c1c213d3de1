/** A Bay on the in-memory driver, for tests of the HTTP contract that need no engine (no build, no Docker). */
import { MemoryDriver } from "../drivers/memory-driver.ts";
import { openTestBay, useBayFrom, type TestBay, type TestBayOptions } from "./bay-under-test.ts";

export * from "./bay-under-test.ts";

/** The image of the built-in profile: any name the memory driver has. */
export const MEMORY_IMAGE = "memory/python:1";

const MEMORY = {
  image: MEMORY_IMAGE,
  // Never run: the memory driver's agents are fakes; the core only checks that the file exists.
  agentBinaryPath: process.execPath,
  driver: () => new MemoryDriver(),
  removeObjects: async () => undefined,
};

export function startMemoryBay(options: TestBayOptions = {}): Promise<TestBay> {
  return openTestBay(MEMORY, options);
}

/** A Bay on the in-memory driver for the whole file: started before its first test, closed after its last. */
export function useMemoryBay(options: TestBayOptions = {}): TestBay {
  return useBayFrom(startMemoryBay, options);
}
