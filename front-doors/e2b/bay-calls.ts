import { BayError, type FrontDoorContext, type Principal } from "../../src/kit/front-door.ts";
import { ConnectError } from "./connect-protocol.ts";

type CallInit = Parameters<FrontDoorContext["callBay"]>[3];

/** One sandbox's routes of Bay's own API, called in-process as its owner; Bay's errors come back as BayErrors. */
export class SandboxCalls {
  constructor(
    private readonly callBay: FrontDoorContext["callBay"],
    readonly principal: Principal,
    readonly sandboxId: string,
  ) {}

  async json<T>(method: string, path: string, init?: CallInit): Promise<T> {
    const response = await this.raw(method, path, init);
    return (response.status === 204 ? undefined : await response.json()) as T;
  }

  /** A successful answer as it is (a stream, a download); a failure as a BayError. */
  async raw(method: string, path: string, init?: CallInit): Promise<Response> {
    const response = await this.callBay(this.principal, method, `/v1/sandboxes/${encodeURIComponent(this.sandboxId)}${path}`, init);
    if (!response.ok) throw await bayErrorOf(response);
    return response;
  }
}

async function bayErrorOf(response: Response): Promise<BayError> {
  const body = (await response.json().catch(() => null)) as { error?: { code: string; message: string; details?: Record<string, unknown> } } | null;
  if (!body?.error) return new BayError("internal_error", `Bay answered ${response.status}`);
  return new BayError(body.error.code as never, body.error.message, body.error.details ?? {});
}

/** Where Bay serves files: E2B's home directory, /home/user, stands for the workspace. */
const WORKSPACE = "/workspace";
const E2B_HOME = "/home/user";

/** An E2B path (absolute, or relative to the home directory) as Bay's workspace-relative path. */
export function workspacePath(path: unknown): string {
  const text = typeof path === "string" ? path : "";
  if (text === "") return ".";
  for (const root of [WORKSPACE, E2B_HOME]) {
    if (text === root) return ".";
    if (text.startsWith(`${root}/`)) return text.slice(root.length + 1) || ".";
  }
  if (text.startsWith("/")) throw new ConnectError("invalid_argument", `${text}: Bay serves paths under ${WORKSPACE} (or ${E2B_HOME}, its alias) only`);
  return text;
}

/** Bay's workspace-relative path as the absolute path it has in the sandbox. */
export function sandboxPath(relative: string): string {
  return relative === "." ? WORKSPACE : `${WORKSPACE}/${relative}`;
}
