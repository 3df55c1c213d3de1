import { AsyncLocalStorage } from "node:async_hooks";

/** The request being served, for everything that runs on its behalf (logs above all). */
const requestContext = new AsyncLocalStorage<{ requestId: string }>();

/** Called as a request starts; what runs from here on, awaits included, sees its id. */
export function enterRequest(requestId: string): void {
  requestContext.enterWith({ requestId });
}

export function currentRequestId(): string | undefined {
  return requestContext.getStore()?.requestId;
}
