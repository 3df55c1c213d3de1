import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TEST_IMAGE } from "../helpers/env.ts";
import { removeInstanceObjects } from "../helpers/docker.ts";
import { startServeProcess, type ServeProcess } from "../helpers/serve-process.ts";

// Uploads and downloads stream end to end (issue 11, item 4): a 1 GiB file
// goes up through a real `bay serve` into a sandbox and comes back, and Bay's
// resident memory stays far below the file's size. The test never holds the
// file either: it is generated, hashed and compared as it streams.

const KEY = "transfer-key-0123456789abcdef";
const FILE_BYTES = 1024 * 1024 * 1024;
const CHUNK_BYTES = 1024 * 1024;
/** Bay's RSS may grow by this much while the file passes, a quarter of its size. */
const MAX_RSS_GROWTH_BYTES = 256 * 1024 * 1024;
const BOUNDARY = "bay-transfer-boundary";

let server: ServeProcess;
let dataDir: string;
let instanceId: string;
let sandboxId: string;

async function api(method: string, path: string, body?: unknown) {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${KEY}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json().catch(() => undefined)) as any };
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "bay-transfer-"));
  instanceId = `test-${randomBytes(4).toString("hex")}`;
  server = await startServeProcess({
    BAY_DATA_DIR: dataDir,
    BAY_INSTANCE_ID: instanceId,
    BAY_DEFAULT_IMAGE: TEST_IMAGE,
    BAY_API_KEY: KEY,
    BAY_SERVER__MAX_BODY_BYTES: String(2 * FILE_BYTES),
  });
  // A cargo with room for the file (the default size limit is 1 GiB).
  const cargo = await api("POST", "/v1/cargos", { size_limit_mb: 4096 });
  expect(cargo.status).toBe(201);
  const created = await api("POST", "/v1/sandboxes", { cargo_id: cargo.body.id });
  expect(created.status).toBe(201);
  sandboxId = created.body.id;
  // Start the session first, so that the container's start is not counted against the transfer.
  expect((await api("GET", `/v1/sandboxes/${sandboxId}/filesystem/directories`)).status).toBe(200);
}, 120_000);

afterAll(async () => {
  if (!server) return;
  if (sandboxId) await api("DELETE", `/v1/sandboxes/${sandboxId}`);
  await server.stop("SIGKILL");
  await removeInstanceObjects(instanceId);
  rmSync(dataDir, { recursive: true, force: true });
}, 120_000);

/** Resident memory of a process, from /proc. */
function rssOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+) kB$/m);
  return Number(line![1]) * 1024;
}

/** Samples Bay's RSS until stopped; the highest sample is what the transfer cost at most. */
function watchRss(pid: number) {
  let peak = rssOf(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 50);
  return {
    stop(): number {
      clearInterval(timer);
      return Math.max(peak, rssOf(pid));
    },
  };
}

/** The file's bytes, made as they are read: each chunk is random bytes stamped with its index. */
function generatedFile(hasher: Bun.CryptoHasher): ReadableStream<Uint8Array> {
  const block = new Uint8Array(randomBytes(CHUNK_BYTES));
  let index = 0;
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (index * CHUNK_BYTES >= FILE_BYTES) return controller.close();
        const chunk = new Uint8Array(block);
        new DataView(chunk.buffer).setUint32(0, index);
        index += 1;
        hasher.update(chunk);
        controller.enqueue(chunk);
      },
    },
    { highWaterMark: 0 },
  );
}

/** multipart/form-data with path, then the file, streamed. */
function multipartUpload(path: string, file: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const head = encoder.encode(
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="path"\r\n\r\n${path}\r\n` +
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  const tail = encoder.encode(`\r\n--${BOUNDARY}--\r\n`);
  const reader = file.getReader();
  let stage: "head" | "file" | "done" = "head";
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (stage === "head") {
          stage = "file";
          return controller.enqueue(head);
        }
        if (stage === "done") return controller.close();
        const { done, value } = await reader.read();
        if (!done) return controller.enqueue(value);
        stage = "done";
        controller.enqueue(tail);
      },
    },
    { highWaterMark: 0 },
  );
}

describe("a 1 GiB file through bay serve", () => {
  test(
    "goes up and comes back byte for byte, while Bay's memory stays far below its size",
    async () => {
      const pid = server.process.pid;
      const baseline = rssOf(pid);

      const sentHash = new Bun.CryptoHasher("sha256");
      const uploadRss = watchRss(pid);
      const uploaded = await fetch(`${server.url}/v1/sandboxes/${sandboxId}/filesystem/upload`, {
        method: "POST",
        headers: { authorization: `Bearer ${KEY}`, "content-type": `multipart/form-data; boundary=${BOUNDARY}` },
        body: multipartUpload("big/big.bin", generatedFile(sentHash)),
      });
      const uploadPeak = uploadRss.stop();
      expect({ status: uploaded.status, body: await uploaded.json() }).toEqual({
        status: 200,
        body: { status: "ok", path: "big/big.bin", size: FILE_BYTES },
      });

      const receivedHash = new Bun.CryptoHasher("sha256");
      const downloadRss = watchRss(pid);
      const downloaded = await fetch(`${server.url}/v1/sandboxes/${sandboxId}/filesystem/download?path=big/big.bin`, {
        headers: { authorization: `Bearer ${KEY}` },
      });
      expect(downloaded.status).toBe(200);
      let received = 0;
      for await (const chunk of downloaded.body!) {
        receivedHash.update(chunk);
        received += chunk.byteLength;
      }
      const downloadPeak = downloadRss.stop();

      expect(received).toBe(FILE_BYTES);
      expect(receivedHash.digest("hex")).toBe(sentHash.digest("hex"));
      expect({ uploadGrowthBelowLimit: uploadPeak - baseline < MAX_RSS_GROWTH_BYTES, uploadGrowthMiB: Math.round((uploadPeak - baseline) / 2 ** 20) }).toMatchObject({
        uploadGrowthBelowLimit: true,
      });
      expect({ downloadGrowthBelowLimit: downloadPeak - baseline < MAX_RSS_GROWTH_BYTES, downloadGrowthMiB: Math.round((downloadPeak - baseline) / 2 ** 20) }).toMatchObject({
        downloadGrowthBelowLimit: true,
      });
    },
    600_000,
  );
});
