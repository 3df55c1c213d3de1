import { Kind, OptionalKind, type TObject, type TSchema } from "@sinclair/typebox";
import { t } from "elysia";
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
  return { ...operationHook(operation, detail), query: queryStringSchema(operation.input) as unknown as I };
}

/**
 * A plugin's query schema (plain TypeBox, shared with the agent) as Elysia
 * must have it: a query string carries text, and only Elysia's own number
 * and boolean types convert it before validation.
 */
export function queryStringSchema<S extends TSchema>(schema: S): S {
  const object = schema as unknown as TObject;
  if (object[Kind] !== "Object") return schema;
  const properties = Object.fromEntries(Object.entries(object.properties).map(([name, property]) => [name, fromQueryString(property)]));
  const { properties: _, type: __, required: ___, ...options } = Object.fromEntries(Object.entries(object));
  return t.Object(properties, options) as unknown as S;
}

function fromQueryString(property: TSchema): TSchema {
  const { type: _, ...options } = Object.fromEntries(Object.entries(property));
  const convert = { Integer: t.Integer, Number: t.Number, Boolean: t.Boolean }[property[Kind] as string];
  if (!convert) return property;
  const converted = convert(options as never) as TSchema;
  return property[OptionalKind] === "Optional" ? t.Optional(converted) : converted;
}
