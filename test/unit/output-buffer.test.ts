import { describe, expect, test } from "bun:test";
import { OutputBuffer } from "../../src/agent/output-buffer.ts";

describe("output buffer", () => {
  test("keeps everything under the limit", () => {
    const buffer = new OutputBuffer(10);
    buffer.append("abc");
    buffer.append("def");
    expect(buffer.truncated).toBe(false);
    expect(buffer.toString()).toBe("abcdef");
  });

  test("past the limit it keeps the head, counts dropped bytes and marks the end", () => {
    const buffer = new OutputBuffer(5);
    buffer.append("abcd");
    buffer.append("efgh");
    buffer.append("ij");
    expect(buffer.truncated).toBe(true);
    expect(buffer.toString()).toBe("abcde\n[output truncated: 5 bytes dropped]\n");
  });

  test("never splits a multi-byte character", () => {
    const buffer = new OutputBuffer(4);
    buffer.append("aé€");
    expect(buffer.toString().startsWith("aé\n")).toBe(true);
    expect(buffer.toString()).toContain("3 bytes dropped");
  });
});
