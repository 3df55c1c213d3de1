/**
 * Stat, make directories, move, list to a depth and watch, on real
 * containers, under the same path safety as the other file routes.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { parseEventStream, type StreamEvent } from "../../src/shared/sse.ts";
import { TEST_API_KEY } from "../helpers/env.ts";
import { expectErrorShape, useSandbox, useTestBay } from "../helpers/test-bay.ts";

// Real containers; nothing here asserts speed.
setDefaultTimeout(60_000);

const bay = useTestBay();
const sandbox = useSandbox(bay);
const fs = (suffix: string) => `/v1/sandboxes/${sandbox.id}/filesystem${suffix}`;
const shell = async (command: string) => (await bay.request("POST", `/v1/sandboxes/${sandbox.id}/shell/exec`, { command })).body;

describe("stat", () => {
  test("a file, a directory and a symlink (described as one, with its target), with owner and permissions", async () => {
    await shell("mkdir -p st/dir && printf hello > st/file && chmod 640 st/file && ln -s file st/link");
    const file = (await bay.request("GET", fs("/stat?path=st/file"))).body;
    expect(file).toMatchObject({ name: "file", path: "st/file", type: "file", size: 5, mode: 0o640, permissions: "-rw-r-----", owner: "shipyard", group: "shipyard", symlink_target: null });
    expect(Date.parse(file.modified_time)).toBeGreaterThan(0);
    expect((await bay.request("GET", fs("/stat?path=st/dir"))).body).toMatchObject({ type: "dir", permissions: expect.stringMatching(/^d/) });
    expect((await bay.request("GET", fs("/stat?path=st/link"))).body).toMatchObject({ type: "symlink", symlink_target: "file" });
    expectErrorShape(await bay.request("GET", fs("/stat?path=st/missing")), 404, "file_not_found");
    expectErrorShape(await bay.request("GET", fs("/stat?path=../etc/passwd")), 400, "invalid_path");
  });

  test("a symlink that leads out of the workspace is refused", async () => {
    await shell("ln -sfn /etc out-link");
    expectErrorShape(await bay.request("GET", fs("/stat?path=out-link/passwd")), 400, "invalid_path");
  });
});

describe("make directory", () => {
  test("parents are made; a second make says it existed; a file in the way is refused", async () => {
    expect((await bay.request("POST", fs("/directories"), { path: "mk/a/b/c" })).body).toEqual({ path: "mk/a/b/c", created: true });
    expect((await bay.request("POST", fs("/directories"), { path: "mk/a/b/c" })).body).toEqual({ path: "mk/a/b/c", created: false });
    expect((await shell("test -d mk/a/b/c && stat -c %U mk/a/b/c")).output).toBe("shipyard\n");
    await shell("touch mk/file");
    expectErrorShape(await bay.request("POST", fs("/directories"), { path: "mk/file" }), 422, "validation_error");
    expectErrorShape(await bay.request("POST", fs("/directories"), { path: "mk/file/sub" }), 422, "validation_error");
  });
});

describe("move", () => {
  test("renames a file and a directory, making the destination's parents; replaces a file; refuses a non-empty directory", async () => {
    await shell("mkdir -p mv/dir/inner && echo one > mv/one && echo two > mv/two && echo x > mv/dir/inner/x");
    expect((await bay.request("POST", fs("/move"), { source: "mv/one", destination: "mv/new/place/one.txt" })).body).toMatchObject({ path: "mv/new/place/one.txt", type: "file", size: 4 });
    expect((await shell("cat mv/new/place/one.txt; test -e mv/one || echo gone")).output).toBe("one\ngone\n");
    expect((await bay.request("POST", fs("/move"), { source: "mv/dir", destination: "mv/renamed" })).body).toMatchObject({ type: "dir" });
    expect((await shell("cat mv/renamed/inner/x")).output).toBe("x\n");
    // A file at the destination is replaced, as mv does.
    expect((await bay.request("POST", fs("/move"), { source: "mv/two", destination: "mv/new/place/one.txt" })).status).toBe(200);
    expect((await shell("cat mv/new/place/one.txt")).output).toBe("two\n");
    await shell("mkdir -p mv/full && touch mv/full/f && mkdir mv/src");
    expectErrorShape(await bay.request("POST", fs("/move"), { source: "mv/src", destination: "mv/full" }), 409, "conflict");
  });

  test("bad moves are refused in the contract's shape and change nothing", async () => {
    await shell("mkdir -p mv2/a && echo keep > mv2/keep");
    expectErrorShape(await bay.request("POST", fs("/move"), { source: "mv2/missing", destination: "mv2/x" }), 404, "file_not_found");
    expectErrorShape(await bay.request("POST", fs("/move"), { source: "mv2/keep", destination: "../outside" }), 400, "invalid_path");
    expectErrorShape(await bay.request("POST", fs("/move"), { source: "/etc/passwd", destination: "mv2/p" }), 400, "invalid_path");
    expectErrorShape(await bay.request("POST", fs("/move"), { source: "mv2", destination: "mv2/a/inside" }), 422, "validation_error");
    expectErrorShape(await bay.request("POST", fs("/move"), { source: ".", destination: "elsewhere" }), 400, "invalid_path");
    await shell("ln -sfn /tmp mv2/tmp-link");
    expectErrorShape(await bay.request("POST", fs("/move"), { source: "mv2/keep", destination: "mv2/tmp-link/stolen" }), 400, "invalid_path");
    expect((await shell("cat mv2/keep; ls /tmp | grep -c stolen || true")).output).toBe("keep\n0\n");
  });
});

describe("list with depth", () => {
  test("depth 1 is the directory's entries; deeper lists nested ones, never through a symlink", async () => {
    await shell("mkdir -p tree/a/b/c && touch tree/top tree/a/in-a tree/a/b/in-b tree/a/b/c/in-c && ln -s a tree/link-to-a");
    const paths = async (depth: number) =>
      ((await bay.request("GET", fs(`/directories?path=tree&depth=${depth}`))).body.entries as { path: string }[]).map((entry) => entry.path);
    expect(await paths(1)).toEqual(["tree/a", "tree/link-to-a", "tree/top"]);
    expect(await paths(2)).toEqual(["tree/a", "tree/a/b", "tree/a/in-a", "tree/link-to-a", "tree/top"]);
    expect(await paths(10)).toEqual(["tree/a", "tree/a/b", "tree/a/b/c", "tree/a/b/c/in-c", "tree/a/b/in-b", "tree/a/in-a", "tree/link-to-a", "tree/top"]);
    expectErrorShape(await bay.request("GET", fs("/directories?path=tree&depth=0")), 422, "validation_error");
    expectErrorShape(await bay.request("GET", fs("/directories?path=tree&depth=11")), 422, "validation_error");
  });
});

describe("watch", () => {
  /** Opens a watch and reads its events in the background until `until` says stop; resolves once `ready` has come. */
  async function watchUntil(query: string, until: (event: StreamEvent, all: StreamEvent[]) => boolean) {
    const response = await bay.app.handle(new Request(`http://localhost${fs(`/watch?${query}`)}`, { headers: { authorization: `Bearer ${TEST_API_KEY}` } }));
    expect(response.status).toBe(200);
    const events: StreamEvent[] = [];
    const reading = (async () => {
      for await (const event of parseEventStream(response.body!)) {
        events.push(event);
        if (until(event, events)) return;
      }
    })();
    for (let i = 0; i < 50 && events.length === 0; i++) await Bun.sleep(100);
    return { events, reading };
  }

  test("create, write, rename and remove are seen with their paths; recursive sees subdirectories; the stream ends when the client leaves", async () => {
    await shell("mkdir -p watched/sub");
    const { events, reading } = await watchUntil(
      "path=watched&recursive=true",
      (event) => event.event === "remove" && (event.data as { path: string }).path === "watched/sub/c.txt",
    );
    expect(events[0]).toEqual({ event: "ready", data: { path: "watched", recursive: true } });
    await shell(
      "echo a > watched/a.txt; sleep 0.2; echo more >> watched/a.txt; sleep 0.2; echo b > watched/sub/b.txt; sleep 0.2; " +
        "mv watched/sub/b.txt watched/sub/c.txt; sleep 0.2; rm watched/sub/c.txt",
    );
    await Promise.race([reading, Bun.sleep(15_000)]);
    const seen = events.slice(1).map((event) => `${event.event} ${(event.data as { path: string }).path}`);
    expect(seen).toContain("create watched/a.txt");
    expect(seen).toContain("write watched/a.txt");
    expect(seen).toContain("create watched/sub/b.txt");
    expect(events).toContainEqual({ event: "rename", data: { path: "watched/sub/b.txt", destination: "watched/sub/c.txt" } });
    expect(seen.at(-1)).toBe("remove watched/sub/c.txt");
  });

  test("in a workspace its user made private, a new file is still seen as created", async () => {
    await shell("mkdir -p private-watch && chmod 700 /workspace");
    try {
      const { events, reading } = await watchUntil("path=private-watch", (_, all) => all.length === 2);
      await shell("echo x > private-watch/new.txt");
      await Promise.race([reading, Bun.sleep(15_000)]);
      expect(events[1]).toEqual({ event: "create", data: { path: "private-watch/new.txt" } });
    } finally {
      await shell("chmod 755 /workspace");
    }
  });

  test("watching a file or a missing directory is refused", async () => {
    await shell("touch not-a-dir");
    expectErrorShape(await bay.request("GET", fs("/watch?path=not-a-dir")), 422, "validation_error");
    expectErrorShape(await bay.request("GET", fs("/watch?path=no-such-dir")), 404, "file_not_found");
    expectErrorShape(await bay.request("GET", fs("/watch?path=../etc")), 400, "invalid_path");
  });
});
