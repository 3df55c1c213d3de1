import { failureText, h } from "./dom.ts";
import type { Bay } from "../client/index.ts";

/** What every view gets: the signed-in client, and the page around it. */
export interface DashboardContext {
  bay: Bay;
  /** The key is an admin key: the admin page and its overview are there. */
  admin: boolean;
  navigate(hash: string): void;
  /** A line in the page's notice bar: what just happened, or what failed. */
  notify(message: string, kind?: "info" | "error"): void;
}

/** A page of the dashboard; `dispose` stops its timers and streams when the page is left. */
export interface View {
  element: HTMLElement;
  dispose(): void;
}

/** How often lists refresh themselves while shown. */
export const REFRESH_MS = 2000;

/** Runs `tick` now and every REFRESH_MS until stopped; a tick never overlaps the previous one. */
export function everyRefresh(tick: () => Promise<void>): () => void {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const run = async () => {
    if (stopped) return;
    await tick().catch(() => undefined);
    if (!stopped) timer = setTimeout(run, REFRESH_MS);
  };
  void run();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/** Runs what the user asked for; says that it was `done` (or what failed), then runs `after` (a refresh). */
export async function perform<T>(
  context: DashboardContext,
  done: string | ((result: T) => string),
  action: () => Promise<T>,
  after: () => Promise<void>,
): Promise<void> {
  try {
    const result = await action();
    context.notify(typeof done === "string" ? done : done(result));
    await after();
  } catch (error) {
    context.notify(failureText(error), "error");
  }
}

/** A page that lists something: its heading, its content, refreshed while shown. */
export function refreshingPage(name: string, title: string, refresh: () => Promise<void>, ...content: Node[]): View {
  const dispose = everyRefresh(refresh);
  return { element: h("section", { class: name }, h("h1", {}, title), ...content), dispose };
}
