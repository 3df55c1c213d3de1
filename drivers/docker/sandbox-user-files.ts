import { chmodSync, existsSync, lstatSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Docker from "dockerode";
import { BayError, SANDBOX_GID, SANDBOX_HOME, SANDBOX_UID, SANDBOX_USER_NAME, type Labels } from "../../src/kit/driver.ts";
import { streamBytes } from "./engine-streams.ts";
import { statusOf, type EngineCall } from "./errors.ts";

/** Host paths of an image's account files, with the sandbox user in them, to mount read-only over /etc/passwd and /etc/group. */
export interface AccountFiles {
  passwd: string;
  group: string;
}

/**
 * Gives the sandbox user (uid/gid 1000) a name and a home in any image:
 * where the image's /etc/passwd or /etc/group lacks uid or gid 1000, a copy
 * with a `shipyard` entry (home /workspace) is mounted over it. The agent
 * cannot add the entry itself: the root filesystem is read-only. Copies are
 * made once per image, read from a container that is created and never
 * started, and kept on the host by image id.
 */
export class SandboxAccountFiles {
  constructor(
    private readonly docker: Docker,
    private readonly engine: EngineCall,
    private readonly directory = join(tmpdir(), "bay-account-files"),
  ) {}

  async forImage(imageId: string, image: string, labels: Labels): Promise<AccountFiles> {
    this.checkDirectory();
    const dir = join(this.directory, imageId.replace(/^sha256:/, ""));
    const files = { passwd: join(dir, "passwd"), group: join(dir, "group") };
    if (existsSync(files.passwd) && existsSync(files.group)) return files;
    const originals = await this.readFromImage(image, labels);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    writeAtomically(files.passwd, withSandboxUser(originals.passwd));
    writeAtomically(files.group, withSandboxGroup(originals.group));
    return files;
  }

  /** The shared /tmp is anyone's: a directory someone else made there, or could write to, would let them name users in sandboxes. */
  private checkDirectory(): void {
    mkdirSync(this.directory, { recursive: true, mode: 0o755 });
    const stats = lstatSync(this.directory);
    if (!stats.isDirectory() || stats.uid !== process.getuid?.()) {
      throw new BayError("driver_unavailable", `${this.directory} is not a directory of Bay's own user; remove it`, { path: this.directory });
    }
    if ((stats.mode & 0o022) !== 0) chmodSync(this.directory, 0o755);
  }

  private async readFromImage(image: string, labels: Labels): Promise<{ passwd: string; group: string }> {
    // Labelled like a session's container, so that a Bay killed right here leaves nothing the collector misses.
    const container = await this.engine("read the image's accounts", () =>
      this.docker.createContainer({ Image: image, Labels: labels, Entrypoint: ["/nonexistent"], NetworkDisabled: true }),
    );
    try {
      return { passwd: await this.readFile(container, "/etc/passwd"), group: await this.readFile(container, "/etc/group") };
    } finally {
      await this.engine("remove a container", () => container.remove({ force: true })).catch(() => undefined);
    }
  }

  /** The file's text; "" when the image has none (a distroless image has no /etc/passwd). */
  private async readFile(container: Docker.Container, path: string): Promise<string> {
    const archive = await this.engine("read the image's accounts", async () => {
      try {
        return await streamBytes(await container.getArchive({ path }));
      } catch (error) {
        if (statusOf(error) === 404) return null;
        throw error;
      }
    });
    return archive ? firstTarEntry(archive).toString("utf8") : "";
  }
}

/** Adds the sandbox user unless the image already has an account with its uid. */
export function withSandboxUser(passwd: string): string {
  const taken = passwd.split("\n").some((line) => line.split(":")[2] === String(SANDBOX_UID));
  if (taken) return passwd;
  const entry = `${SANDBOX_USER_NAME}:x:${SANDBOX_UID}:${SANDBOX_GID}:${SANDBOX_USER_NAME}:${SANDBOX_HOME}:/bin/sh\n`;
  return `${passwd}${passwd === "" || passwd.endsWith("\n") ? "" : "\n"}${entry}`;
}

export function withSandboxGroup(group: string): string {
  const taken = group.split("\n").some((line) => line.split(":")[2] === String(SANDBOX_GID));
  if (taken) return group;
  return `${group}${group === "" || group.endsWith("\n") ? "" : "\n"}${SANDBOX_USER_NAME}:x:${SANDBOX_GID}:\n`;
}

function writeAtomically(path: string, text: string): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, text, { mode: 0o644 });
  renameSync(temporary, path);
}

/** The content of a tar archive's first entry: a 512-byte header (size in octal at 124), then the bytes. */
export function firstTarEntry(archive: Buffer): Buffer {
  if (archive.length < 512) return Buffer.alloc(0);
  const size = Number.parseInt(archive.subarray(124, 136).toString("ascii").replace(/\0.*$/s, "").trim() || "0", 8);
  return archive.subarray(512, 512 + size);
}
