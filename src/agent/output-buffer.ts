/**
 * Collects output up to a byte limit. Past it, bytes are counted but dropped,
 * so memory stays bounded whatever the sandbox prints (api.md §6).
 */
export class OutputBuffer {
  private readonly parts: string[] = [];
  private keptBytes = 0;
  private droppedBytes = 0;

  constructor(private readonly limitBytes: number) {}

  append(text: string): void {
    if (this.droppedBytes > 0) {
      this.droppedBytes += Buffer.byteLength(text);
      return;
    }
    const size = Buffer.byteLength(text);
    if (this.keptBytes + size <= this.limitBytes) {
      this.parts.push(text);
      this.keptBytes += size;
      return;
    }
    const room = this.limitBytes - this.keptBytes;
    const kept = Buffer.from(text).subarray(0, room).toString("utf8").replace(/\uFFFD$/, "");
    this.parts.push(kept);
    this.keptBytes += Buffer.byteLength(kept);
    this.droppedBytes += size - Buffer.byteLength(kept);
  }

  get truncated(): boolean {
    return this.droppedBytes > 0;
  }

  toString(): string {
    const text = this.parts.join("");
    return this.truncated ? `${text}\n[output truncated: ${this.droppedBytes} bytes dropped]\n` : text;
  }
}
