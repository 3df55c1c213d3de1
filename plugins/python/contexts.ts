import { mkdirSync, statSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { BayError, type Workspace } from "../../src/kit/agent.ts";
import { PythonKernel } from "./kernel.ts";
import { MAX_PYTHON_CONTEXTS, type PythonContext } from "./schemas.ts";

export const DEFAULT_CONTEXT = "default";

interface Context {
  info: PythonContext;
  kernel: PythonKernel;
  env: Record<string, string>;
  cwd: string;
}

/**
 * The sandbox's Python kernels: the default one (what python/exec uses
 * without a context_id) and those made on request, each an independent
 * process with its own variables and working directory. They end with the
 * agent, and so with the session.
 */
export class PythonContexts {
  private readonly contexts = new Map<string, Context>();

  constructor(
    private readonly workspace: Workspace,
    private readonly env: Record<string, string>,
  ) {
    this.add(DEFAULT_CONTEXT, workspace.realRoot, ".");
  }

  get default(): PythonKernel {
    return this.contexts.get(DEFAULT_CONTEXT)!.kernel;
  }

  create(cwd: string | undefined): PythonContext {
    if (this.contexts.size >= MAX_PYTHON_CONTEXTS) {
      throw new BayError("quota_exceeded", `python contexts quota reached: ${this.contexts.size} of ${MAX_PYTHON_CONTEXTS}`, {
        quota: "python_contexts",
        limit: MAX_PYTHON_CONTEXTS,
        current: this.contexts.size,
      });
    }
    const directory = this.workspace.resolve(cwd ?? ".", "cwd");
    try {
      mkdirSync(directory.real, { recursive: true });
    } catch {
      // Reported just below.
    }
    if (!statSync(directory.real, { throwIfNoEntry: false })?.isDirectory()) {
      throw new BayError("validation_error", `cwd ${directory.relative} is not a directory`, { field: "cwd" });
    }
    const context = this.add(`ctx-${randomBytes(6).toString("hex")}`, directory.real, directory.relative);
    // Started now, so that its first cell does not pay for the interpreter's start.
    void context.kernel.start().catch(() => undefined);
    return context.info;
  }

  list(): PythonContext[] {
    return [...this.contexts.values()].map((context) => context.info);
  }

  kernel(id: string | undefined): PythonKernel {
    return this.find(id ?? DEFAULT_CONTEXT).kernel;
  }

  /** A fresh kernel in the same directory: the variables are gone. */
  async restart(id: string): Promise<PythonContext> {
    const context = this.find(id);
    await context.kernel.close();
    context.kernel = new PythonKernel({ cwd: context.cwd, env: context.env });
    void context.kernel.start().catch(() => undefined);
    return context.info;
  }

  async delete(id: string): Promise<void> {
    if (id === DEFAULT_CONTEXT) throw new BayError("conflict", "the default context cannot be deleted; restart it instead", { id });
    const context = this.find(id);
    this.contexts.delete(id);
    await context.kernel.close();
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.contexts.values()].map((context) => context.kernel.close()));
  }

  private find(id: string): Context {
    const context = this.contexts.get(id);
    if (!context) throw new BayError("not_found", `python context ${id} not found (contexts end with the sandbox's session)`, { context_id: id });
    return context;
  }

  private add(id: string, cwd: string, relative: string): Context {
    // Figures render off-screen and are returned as PNGs.
    const env = { MPLBACKEND: "Agg", ...this.env };
    const context: Context = {
      info: { id, cwd: relative, created_at: new Date().toISOString() },
      kernel: new PythonKernel({ cwd, env }),
      env,
      cwd,
    };
    this.contexts.set(id, context);
    return context;
  }
}
