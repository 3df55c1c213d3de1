import type { TSchema } from "@sinclair/typebox";
import type { SandboxOperation } from "../shared/sandbox-operation.ts";
import { SandboxParams, capabilityRouteErrors } from "./schemas.ts";

/** How a route's OpenAPI entry reads beyond the operation's summary. */
interface RouteDetail {
  tags: string[];
  description?: string;
}

/** What every operation's route declares: the sandbox id, the answers, the document's entry. */
function operationHook<O extends TSchema>(operation: SandboxOperation<TSchema, O>, detail: RouteDetail) {
  return {
    params: SandboxParams,
    response: { 200: operation.output, ...capabilityRouteErrors },
    detail: { summary: operation.summary, ...detail },
  };
}

/** A body operation's route schemas, as Elysia takes them. */
export function bodyOperationHook<I extends TSchema, O extends TSchema>(operation: SandboxOperation<I, O>, detail: RouteDetail) {
  return { ...operationHook(operation, detail), body: operation.input };
}

/** A query operation's route schemas (GET, DELETE), as Elysia takes them. */
export function queryOperationHook<I extends TSchema, O extends TSchema>(operation: SandboxOperation<I, O>, detail: RouteDetail) {
  return { ...operationHook(operation, detail), query: operation.input };
}
