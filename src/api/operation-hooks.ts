import type { TSchema } from "@sinclair/typebox";
import type { SandboxOperation } from "../shared/sandbox-operation.ts";
import { SandboxParams, capabilityRouteErrors } from "./schemas.ts";

/** How a route's OpenAPI entry reads beyond the operation's summary. */
interface RouteDetail {
  tags: string[];
  description?: string;
}

/** A body operation's route schemas, as Elysia takes them: the sandbox id, the body, the answers, the document. */
export function bodyOperationHook<I extends TSchema, O extends TSchema>(operation: SandboxOperation<I, O>, detail: RouteDetail) {
  return {
    params: SandboxParams,
    body: operation.input,
    response: { 200: operation.output, ...capabilityRouteErrors },
    detail: { summary: operation.summary, ...detail },
  };
}

/** A query operation's route schemas (GET, DELETE), as Elysia takes them. */
export function queryOperationHook<I extends TSchema, O extends TSchema>(operation: SandboxOperation<I, O>, detail: RouteDetail) {
  return {
    params: SandboxParams,
    query: operation.input,
    response: { 200: operation.output, ...capabilityRouteErrors },
    detail: { summary: operation.summary, ...detail },
  };
}
