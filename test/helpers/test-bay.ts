/** A real Bay on the real Docker engine, for the end-to-end tests (importing this builds dist/bay and checks the engine). */
import { BAY_BINARY, TEST_IMAGE } from "./env.ts";
import { removeInstanceObjects } from "./docker.ts";
import { openTestBay, useBayFrom, type TestBay, type TestBayOptions } from "./bay-under-test.ts";

export * from "./bay-under-test.ts";

const DOCKER = { image: TEST_IMAGE, agentBinaryPath: BAY_BINARY, removeObjects: removeInstanceObjects };

/** A real Bay (real SQLite, real Docker) on a fresh data dir with its own instance id. */
export function startTestBay(options: TestBayOptions = {}): Promise<TestBay> {
  return openTestBay(DOCKER, options);
}

/** A real Bay for the whole file: started before its first test, closed after its last. */
export function useTestBay(options: TestBayOptions = {}): TestBay {
  return useBayFrom(startTestBay, options);
}
