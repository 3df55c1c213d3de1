import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { expectErrorShape, startTestBay, type RawTestResponse, type TestBay, type TestResponse } from "../helpers/test-bay.ts";
import { containersWithLabel, volumesWithLabel } from "../helpers/docker.ts";

// Real containers start here; each test gets room, and no test asserts speed.
setDefaultTimeout(60_000);

let bay: TestBay;
/** The sandbox most tests share; one container serves them all. */
let sandboxId: string;

beforeAll(async () => {
  bay = await startTestBay();
  sandboxId = await createSandbox();
});

afterAll(async () => {
  await bay.close();
});

async function createSandbox(): Promise<string> {
  const response = await bay.request("POST", "/v1/sandboxes", {});
  expect(response.status).toBe(201);
  return response.body.id;
}

const at = (id: string) => `/v1/sandboxes/${id}`;
const query = (path: string) => `?path=${encodeURIComponent(path)}`;

/** The main routes (§6). */
const fs = {
  read: (id: string, path: string) => bay.request("GET", `${at(id)}/filesystem/files${query(path)}`),
  write: (id: string, path: string, content: string) => bay.request("PUT", `${at(id)}/filesystem/files`, { path, content }),
  list: (id: string, path?: string) => bay.request("GET", `${at(id)}/filesystem/directories${path === undefined ? "" : query(path)}`),
  remove: (id: string, path: string) => bay.request("DELETE", `${at(id)}/filesystem/files${query(path)}`),
};

/** The Phase-1 aliases, with the same signatures. */
const alias: typeof fs = {
  read: (id, path) => bay.request("POST", `${at(id)}/files/read`, { path }),
  write: (id, path, content) => bay.request("POST", `${at(id)}/files/write`, { path, content }),
  list: (id, path) => bay.request("POST", `${at(id)}/files/list`, path === undefined ? {} : { path }),
  remove: (id, path) => bay.request("POST", `${at(id)}/files/delete`, { path }),
};

/** Each operation as a call on (id, path), so that route tables can be iterated. */
const byPath = (routes: typeof fs) => ({
  read: (id: string, path: string) => routes.read(id, path),
  write: (id: string, path: string) => routes.write(id, path, "x"),
  list: (id: string, path: string) => routes.list(id, path),
  delete: (id: string, path: string) => routes.remove(id, path),
});

function upload(id: string, path: string, bytes: Uint8Array): Promise<RawTestResponse> {
  const form = new FormData();
  form.set("path", path);
  form.set("file", new Blob([bytes]), "upload.bin");
  return bay.raw("POST", `${at(id)}/filesystem/upload`, form);
}

const download = (id: string, path: string) => bay.raw("GET", `${at(id)}/filesystem/download${query(path)}`);

/** Runs a command in the sandbox (uid 1000, cwd /workspace) and returns its stdout. */
async function shell(id: string, command: string): Promise<string> {
  const response = await bay.request("POST", `${at(id)}/shell/exec`, { command });
  expect(response.status).toBe(200);
  return response.body.output;
}

/** Whether the path exists inside the container; a symlink counts even when it dangles. */
const exists = async (id: string, path: string) => (await shell(id, `test -e '${path}' || test -L '${path}'; echo $?`)).trim() === "0";

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const byName = (entries: any[]) => Object.fromEntries(entries.map((entry) => [entry.name, entry]));

describe("filesystem: text files", () => {
  test("write → read round-trips UTF-8 text, creating parent directories", async () => {
    const content = "Grüße, 世界 🚀\nzweite Zeile\n";
    expect(await fs.write(sandboxId, "notes/deep/er/hello.txt", content)).toMatchObject({ status: 200, body: { status: "ok" } });

    expect(await fs.read(sandboxId, "notes/deep/er/hello.txt")).toMatchObject({ status: 200, body: { content } });
    expect(byName((await fs.list(sandboxId, "notes/deep")).body.entries).er).toMatchObject({ is_dir: true, is_file: false });
    expect(await shell(sandboxId, "cat notes/deep/er/hello.txt")).toBe(content);
  });

  test("PUT over an existing file replaces its whole content", async () => {
    await fs.write(sandboxId, "replace.txt", "a long first version of the file\n");
    expect((await fs.write(sandboxId, "replace.txt", "short")).status).toBe(200);
    expect((await fs.read(sandboxId, "replace.txt")).body).toEqual({ content: "short" });
  });

  test("an empty file round-trips as an empty string", async () => {
    expect((await fs.write(sandboxId, "empty.txt", "")).status).toBe(200);
    expect((await fs.read(sandboxId, "empty.txt")).body).toEqual({ content: "" });
  });
});

describe("filesystem: listing", () => {
  beforeAll(async () => {
    await fs.write(sandboxId, "listing/a.txt", "héllo"); // 6 bytes in UTF-8
    await fs.write(sandboxId, "listing/sub/inner.txt", "x");
  });

  test("entries carry name, workspace-relative path, kind, size in bytes and an ISO mtime", async () => {
    const response = await fs.list(sandboxId, "listing");
    expect(response.status).toBe(200);
    const entries = byName(response.body.entries);
    expect(Object.keys(entries).sort()).toEqual(["a.txt", "sub"]);
    expect(entries["a.txt"]).toMatchObject({ name: "a.txt", path: "listing/a.txt", is_file: true, is_dir: false, size: 6 });
    expect(entries.sub).toMatchObject({ name: "sub", path: "listing/sub", is_file: false, is_dir: true });
    for (const entry of response.body.entries) {
      expect(entry.modified_at).toBe(entry.modified_time);
      expect(entry.modified_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      expect(Math.abs(Date.parse(entry.modified_time) - Date.now())).toBeLessThan(5 * 60_000);
    }
  });

  test("a nested listing reports paths relative to /workspace, not to the listed directory", async () => {
    const entries = (await fs.list(sandboxId, "listing/sub")).body.entries;
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ name: "inner.txt", path: "listing/sub/inner.txt", size: 1 });
  });

  test("without a path, and with path '.', the workspace root is listed", async () => {
    for (const response of [await fs.list(sandboxId), await fs.list(sandboxId, ".")]) {
      expect(response.status).toBe(200);
      expect(byName(response.body.entries).listing).toMatchObject({ path: "listing", is_dir: true });
    }
  });

  test("listing a file is a 422 validation_error", async () => {
    expectErrorShape(await fs.list(sandboxId, "listing/a.txt"), 422, "validation_error");
  });
});

describe("filesystem: delete", () => {
  test("a file is deleted and is then 404", async () => {
    await fs.write(sandboxId, "doomed.txt", "bye");
    expect(await fs.remove(sandboxId, "doomed.txt")).toMatchObject({ status: 200, body: { status: "ok" } });
    expectErrorShape(await fs.read(sandboxId, "doomed.txt"), 404, "file_not_found");
    expect(await exists(sandboxId, "doomed.txt")).toBe(false);
  });

  test("a directory is deleted recursively; list and read are then 404", async () => {
    await fs.write(sandboxId, "tree/a/b/c.txt", "deep");
    await fs.write(sandboxId, "tree/d.txt", "shallow");
    expect(await fs.remove(sandboxId, "tree")).toMatchObject({ status: 200, body: { status: "ok" } });
    expectErrorShape(await fs.list(sandboxId, "tree"), 404, "file_not_found");
    expectErrorShape(await fs.read(sandboxId, "tree/a/b/c.txt"), 404, "file_not_found");
    expect(await exists(sandboxId, "tree")).toBe(false);
  });

  test("the workspace itself cannot be deleted ('.', './', 'a/..') → 400 invalid_path, and nothing is removed", async () => {
    await fs.write(sandboxId, "survivor.txt", "still here");
    for (const path of [".", "./", "a/.."]) expectErrorShape(await fs.remove(sandboxId, path), 400, "invalid_path");
    expect((await fs.read(sandboxId, "survivor.txt")).body).toEqual({ content: "still here" });
  });
});

describe("filesystem: missing paths are 404 file_not_found, never 502", () => {
  for (const path of ["no-such-file.txt", "no/such/dir/file.txt"]) {
    test(`read, list, delete and download of ${path}`, async () => {
      expectErrorShape(await fs.read(sandboxId, path), 404, "file_not_found");
      expectErrorShape(await fs.list(sandboxId, path), 404, "file_not_found");
      expectErrorShape(await fs.remove(sandboxId, path), 404, "file_not_found");
      expectErrorShape(await download(sandboxId, path), 404, "file_not_found");
    });
  }
});

describe("filesystem: upload and download", () => {
  const allBytes = Uint8Array.from({ length: 256 }, (_, i) => i);

  test("all 256 byte values come back identical, as application/octet-stream", async () => {
    const uploaded = await upload(sandboxId, "bin/all-bytes.bin", allBytes);
    expect(uploaded.status).toBe(200);
    expect(uploaded.body).toEqual({ status: "ok", path: "bin/all-bytes.bin", size: 256 });

    const downloaded = await download(sandboxId, "bin/all-bytes.bin");
    expect(downloaded.status).toBe(200);
    expect(downloaded.headers.get("content-type")).toBe("application/octet-stream");
    expect(downloaded.bytes).toEqual(allBytes);
  });

  test("6 MiB of random bytes are stored and returned exactly (sha256)", async () => {
    const big = new Uint8Array(randomBytes(6 * 1024 * 1024));
    const uploaded = await upload(sandboxId, "bin/big.bin", big);
    expect(uploaded.body).toEqual({ status: "ok", path: "bin/big.bin", size: big.length });
    // What is on the volume, independently of the download route.
    expect(await shell(sandboxId, "sha256sum < bin/big.bin")).toStartWith(sha256(big));

    const downloaded = await download(sandboxId, "bin/big.bin");
    expect(downloaded.status).toBe(200);
    expect(downloaded.bytes.length).toBe(big.length);
    expect(sha256(downloaded.bytes)).toBe(sha256(big));
  });

  test("the upload answer carries the normalised path", async () => {
    const uploaded = await upload(sandboxId, "bin/../bin/./normalised.bin", allBytes);
    expect(uploaded.body).toEqual({ status: "ok", path: "bin/normalised.bin", size: 256 });
  });

  test("a binary file read through the text route is a 422 validation_error (not UTF-8)", async () => {
    await upload(sandboxId, "bin/not-utf8.bin", allBytes);
    expectErrorShape(await fs.read(sandboxId, "bin/not-utf8.bin"), 422, "validation_error");
  });

  test("a text file written by PUT downloads as its UTF-8 bytes", async () => {
    await fs.write(sandboxId, "bin/text.txt", "ünïcode");
    expect((await download(sandboxId, "bin/text.txt")).bytes).toEqual(new TextEncoder().encode("ünïcode"));
  });
});

describe("filesystem: targets that are not plain files", () => {
  test("writing or uploading below an existing file is a 422 validation_error, not a 502", async () => {
    await fs.write(sandboxId, "plain/file.txt", "I am a file");
    expectErrorShape(await fs.write(sandboxId, "plain/file.txt/child.txt", "x"), 422, "validation_error");
    expectErrorShape(await upload(sandboxId, "plain/file.txt/child.bin", Uint8Array.of(1)), 422, "validation_error");
    expect((await fs.read(sandboxId, "plain/file.txt")).body).toEqual({ content: "I am a file" });
  });

  test("writing onto an existing directory is a 422 validation_error", async () => {
    await fs.write(sandboxId, "plain/dir/inner.txt", "x");
    expectErrorShape(await fs.write(sandboxId, "plain/dir", "x"), 422, "validation_error");
    expectErrorShape(await fs.read(sandboxId, "plain/dir"), 422, "validation_error");
    expectErrorShape(await download(sandboxId, "plain/dir"), 422, "validation_error");
  });

  describe("a FIFO made in the workspace answers 422 validation_error promptly (no hang, no 502)", () => {
    const withinSeconds = (call: Promise<TestResponse>) =>
      Promise.race([call, Bun.sleep(5_000).then(() => ({ status: 0, headers: new Headers(), body: "no answer within 5 s" }))]);

    beforeAll(() => shell(sandboxId, "mkfifo plain/fifo"));
    // A reader stuck on the FIFO gets its end-of-file; harmless when nobody reads.
    afterAll(() => shell(sandboxId, "timeout 2 sh -c ': > plain/fifo'; rm -f plain/fifo"));

    test("download", async () => {
      expectErrorShape(await withinSeconds(download(sandboxId, "plain/fifo")), 422, "validation_error");
    });
    test("write", async () => {
      expectErrorShape(await withinSeconds(fs.write(sandboxId, "plain/fifo", "x")), 422, "validation_error");
    });
    test("read", async () => {
      expectErrorShape(await withinSeconds(fs.read(sandboxId, "plain/fifo")), 422, "validation_error");
    });
  });
});

describe("filesystem: the Phase-1 aliases answer like the main routes", () => {
  /** What must agree between an alias and its main route. */
  const outcome = (response: TestResponse) =>
    response.status === 200 ? { status: 200, body: response.body } : { status: response.status, code: response.body?.error?.code };

  test("write via the alias, read and list via both", async () => {
    expect(await alias.write(sandboxId, "aliased/one.txt", "via alias ✓")).toMatchObject({ status: 200, body: { status: "ok" } });
    expect(outcome(await alias.read(sandboxId, "aliased/one.txt"))).toEqual({ status: 200, body: { content: "via alias ✓" } });
    expect(outcome(await alias.read(sandboxId, "aliased/one.txt"))).toEqual(outcome(await fs.read(sandboxId, "aliased/one.txt")));
    expect(outcome(await alias.list(sandboxId, "aliased"))).toEqual(outcome(await fs.list(sandboxId, "aliased")));
    expect(outcome(await alias.list(sandboxId))).toEqual(outcome(await fs.list(sandboxId)));
  });

  test("files/list with no body at all lists the workspace root", async () => {
    const response = await bay.request("POST", `${at(sandboxId)}/files/list`);
    expect(outcome(response)).toEqual(outcome(await fs.list(sandboxId)));
  });

  test("delete via the alias removes the file", async () => {
    await fs.write(sandboxId, "aliased/two.txt", "x");
    expect(await alias.remove(sandboxId, "aliased/two.txt")).toMatchObject({ status: 200, body: { status: "ok" } });
    expectErrorShape(await fs.read(sandboxId, "aliased/two.txt"), 404, "file_not_found");
  });

  test("errors are the same: missing, not-a-directory, not UTF-8, invalid paths", async () => {
    await upload(sandboxId, "aliased/binary.bin", Uint8Array.of(0xff, 0xfe, 0x00));
    const [viaAlias, viaMain] = [byPath(alias), byPath(fs)];
    const cases: [keyof typeof viaMain, string][] = [
      ["read", "aliased/missing.txt"],
      ["list", "aliased/missing"],
      ["delete", "aliased/missing.txt"],
      ["list", "aliased/one.txt"],
      ["read", "aliased/binary.bin"],
      ["read", "/etc/passwd"],
      ["write", "../escape.txt"],
      ["list", "a/../../x"],
      ["delete", "."],
    ];
    for (const [operation, path] of cases) {
      const [answer, expected] = [await viaAlias[operation](sandboxId, path), await viaMain[operation](sandboxId, path)];
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect({ operation, path, ...outcome(answer) }).toEqual({ operation, path, ...outcome(expected) });
    }
  });
});

describe("path safety at Bay (lexical)", () => {
  const badPaths = ["", "/etc/passwd", "../x", "a/../../x", "a\0b.txt"];
  const operations: Record<string, (id: string, path: string) => Promise<TestResponse>> = {
    ...byPath(fs),
    upload: (id, path) => upload(id, path, Uint8Array.of(1, 2, 3)),
    download,
    ...Object.fromEntries(Object.entries(byPath(alias)).map(([name, call]) => [`alias ${name}`, call])),
  };
  let freshId: string;

  beforeAll(async () => {
    freshId = await createSandbox();
  });

  for (const [name, call] of Object.entries(operations)) {
    test(`${name}: empty, absolute, escaping and NUL paths → 400 invalid_path`, async () => {
      for (const path of badPaths) {
        const response = await call(freshId, path);
        expect({ path, status: response.status, code: response.body?.error?.code }).toEqual({ path, status: 400, code: "invalid_path" });
        expectErrorShape(response, 400, "invalid_path");
      }
    });
  }

  test("none of those refusals started a container", () => {
    expect(containersWithLabel(`bay.sandbox_id=${freshId}`)).toEqual([]);
  });

  test("'a/../b.txt' is fine: it is b.txt", async () => {
    expect((await fs.write(freshId, "a/../b.txt", "normalised")).status).toBe(200);
    expect((await fs.read(freshId, "b.txt")).body).toEqual({ content: "normalised" });
    expect(await exists(freshId, "a")).toBe(false);
    expect((await bay.request("DELETE", at(freshId))).status).toBe(204);
  });
});

describe("path safety at the agent (symlinks)", () => {
  beforeAll(async () => {
    await shell(
      sandboxId,
      [
        "mkdir -p links/inside && echo 'inside text' > links/inside/real.txt",
        "cd links",
        "ln -s /etc etc",
        "ln -s /etc/passwd passwd",
        "ln -s /tmp/something dangling",
        "ln -s /tmp tmp",
        "echo original > /tmp/victim && ln -s /tmp/victim victim",
        "ln -s inside/real.txt inner",
        "ln -s inside inner-dir",
      ].join(" && "),
    );
    expect(await shell(sandboxId, "readlink links/etc links/dangling")).toBe("/etc\n/tmp/something\n");
  });

  const refused = async (response: TestResponse | Promise<TestResponse>) => expectErrorShape(await response, 400, "invalid_path");

  test("read through a link to /etc, to /etc/passwd or to a dangling outside target → invalid_path", async () => {
    for (const path of ["links/etc/passwd", "links/etc/hostname", "links/passwd", "links/dangling"]) {
      await refused(fs.read(sandboxId, path));
      await refused(download(sandboxId, path));
    }
  });

  test("write through a dangling link → invalid_path, and the outside target is not created", async () => {
    await refused(fs.write(sandboxId, "links/dangling", "escaped"));
    await refused(upload(sandboxId, "links/dangling", Uint8Array.of(1)));
    expect(await shell(sandboxId, "test -e /tmp/something; echo $?")).toBe("1\n");
  });

  test("write through a link to an existing outside file → invalid_path, and the file is unchanged", async () => {
    await refused(fs.write(sandboxId, "links/victim", "overwritten"));
    await refused(upload(sandboxId, "links/victim", Uint8Array.of(1)));
    expect(await shell(sandboxId, "cat /tmp/victim")).toBe("original\n");
  });

  test("write below a linked outside directory → invalid_path, and no directory is created there", async () => {
    await refused(fs.write(sandboxId, "links/tmp/made/by/bay.txt", "escaped"));
    await refused(fs.write(sandboxId, "links/etc/bay.txt", "escaped"));
    expect(await shell(sandboxId, "test -e /tmp/made; echo $?")).toBe("1\n");
  });

  test("list through a link to /etc → invalid_path", async () => {
    await refused(fs.list(sandboxId, "links/etc"));
    await refused(fs.list(sandboxId, "links/etc/ssl"));
  });

  test("delete through a link, and of the outside-pointing link itself → invalid_path; everything stays", async () => {
    await refused(fs.remove(sandboxId, "links/tmp/victim"));
    for (const link of ["links/etc", "links/passwd", "links/dangling", "links/victim"]) await refused(fs.remove(sandboxId, link));
    expect(await shell(sandboxId, "cat /tmp/victim")).toBe("original\n");
    for (const link of ["etc", "passwd", "dangling", "victim"]) expect(await exists(sandboxId, `links/${link}`)).toBe(true);
  });

  test("the listing of the link directory does not describe outside targets as files or directories", async () => {
    const entries = byName((await fs.list(sandboxId, "links")).body.entries);
    expect(entries.etc).toMatchObject({ path: "links/etc", is_dir: false, is_file: false });
    expect(entries.passwd).toMatchObject({ path: "links/passwd", is_dir: false, is_file: false });
    expect(entries.inner).toMatchObject({ is_file: true, size: "inside text\n".length });
    expect(entries["inner-dir"]).toMatchObject({ is_dir: true });
  });

  test("links that stay inside the workspace work for read, download and list", async () => {
    expect((await fs.read(sandboxId, "links/inner")).body).toEqual({ content: "inside text\n" });
    expect((await download(sandboxId, "links/inner")).bytes).toEqual(new TextEncoder().encode("inside text\n"));
    expect((await fs.read(sandboxId, "links/inner-dir/real.txt")).body).toEqual({ content: "inside text\n" });
    expect((await fs.list(sandboxId, "links/inner-dir")).body.entries.map((e: any) => e.name)).toEqual(["real.txt"]);
  });

  test("deleting an inside link removes the link, not its target", async () => {
    expect((await fs.remove(sandboxId, "links/inner")).status).toBe(200);
    expect(await exists(sandboxId, "links/inner")).toBe(false);
    expect((await fs.read(sandboxId, "links/inside/real.txt")).body).toEqual({ content: "inside text\n" });
  });
});

describe("what the filesystem tests leave on the engine", () => {
  test("DELETE of the sandbox removes its container and its cargo volume", async () => {
    expect(containersWithLabel(`bay.sandbox_id=${sandboxId}`)).toHaveLength(1);
    expect((await bay.request("DELETE", at(sandboxId))).status).toBe(204);
    expect(containersWithLabel(`bay.sandbox_id=${sandboxId}`)).toEqual([]);
    expect(volumesWithLabel(`bay.sandbox_id=${sandboxId}`)).toEqual([]);
    expectErrorShape(await fs.read(sandboxId, "notes/deep/er/hello.txt"), 404, "not_found");
  });

  test("nothing of this test instance remains", () => {
    expect(containersWithLabel(`bay.instance_id=${bay.instanceId}`)).toEqual([]);
    expect(volumesWithLabel(`bay.instance_id=${bay.instanceId}`)).toEqual([]);
  });
});
