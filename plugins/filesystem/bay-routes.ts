import { Elysia, t } from "elysia";
import {
  AgentError,
  SandboxParams,
  ValidationError,
  bodyOperationHook,
  capabilityRouteErrors,
  multipartBoundary,
  multipartParts,
  normalizeWorkspacePath,
  operationRoute,
  partText,
  queryOperationHook,
  queryStringSchema,
  relayedEventStream,
  relayedResponse,
  streamOf,
  streamedBodyRoute,
  agentCaller,
  agentStreamer,
  callerOf,
  type Caller,
  type CapabilityRouteContext,
} from "../../src/kit/bay.ts";
import {
  DELETE_FILE,
  DOWNLOAD_FILE,
  FILE_INFO,
  LIST_DIRECTORY,
  MAKE_DIRECTORY,
  MOVE_ENTRY,
  READ_FILE,
  UPLOAD_FILE,
  WATCH_DIRECTORY,
  WRITE_FILE,
} from "./routes.ts";
import {
  DELETE_FILE_OPERATION,
  FILE_INFO_OPERATION,
  LIST_DIRECTORY_OPERATION,
  MAKE_DIRECTORY_OPERATION,
  MOVE_OPERATION,
  READ_FILE_OPERATION,
  WRITE_FILE_OPERATION,
} from "./operations.ts";
import {
  DeleteFileRequest,
  DirectoryListing,
  FileContent,
  ListDirectoryRequest,
  MAX_LIST_ENTRIES,
  PathQuery,
  ReadFileRequest,
  StatusOk,
  UploadForm,
  UploadResult,
  WatchQuery,
  WriteFileRequest,
} from "./schemas.ts";

/** File operations finish quickly or not at all (an upload: once its last byte is sent; the edge times its sender). */
const FILE_CALL_TIMEOUT_MS = 60_000;
/** A path is short; a longer path field is refused before it is held. */
const MAX_PATH_FIELD_BYTES = 64 * 1024;
const tags = ["filesystem"];

export default function filesystemRoutes({ sandboxes, auth }: CapabilityRouteContext) {
  /** Every path is checked by Bay (invalid_path) before any compute is started. */
  const onAgent = agentCaller(sandboxes, "filesystem");
  const streamOnAgent = agentStreamer(sandboxes, "filesystem");

  const read = (caller: Caller, path: string) => {
    const checked = normalizeWorkspacePath(path);
    return onAgent(caller, (agent) => agent.call(READ_FILE, { path: checked }, { timeoutMs: FILE_CALL_TIMEOUT_MS }));
  };
  const write = async (caller: Caller, path: string, content: string) => {
    const checked = normalizeWorkspacePath(path);
    await onAgent(caller, (agent) => agent.call(WRITE_FILE, { path: checked, content }, { timeoutMs: FILE_CALL_TIMEOUT_MS }));
    return { status: "ok" as const };
  };
  const list = (caller: Caller, path: string | undefined, depth?: number) => {
    const checked = normalizeWorkspacePath(path ?? ".");
    return onAgent(caller, (agent) => agent.call(LIST_DIRECTORY, { path: checked, depth }, { timeoutMs: FILE_CALL_TIMEOUT_MS }));
  };
  const stat = (caller: Caller, path: string) => {
    const checked = normalizeWorkspacePath(path);
    return onAgent(caller, (agent) => agent.call(FILE_INFO, { path: checked }, { timeoutMs: FILE_CALL_TIMEOUT_MS }));
  };
  const makeDirectory = (caller: Caller, path: string) => {
    const checked = normalizeWorkspacePath(path);
    return onAgent(caller, (agent) => agent.call(MAKE_DIRECTORY, { path: checked }, { timeoutMs: FILE_CALL_TIMEOUT_MS }));
  };
  const move = (caller: Caller, source: string, destination: string) => {
    const checked = { source: normalizeWorkspacePath(source, "source"), destination: normalizeWorkspacePath(destination, "destination") };
    return onAgent(caller, (agent) => agent.call(MOVE_ENTRY, checked, { timeoutMs: FILE_CALL_TIMEOUT_MS }));
  };
  const remove = async (caller: Caller, path: string) => {
    const checked = normalizeWorkspacePath(path);
    await onAgent(caller, (agent) => agent.call(DELETE_FILE, { path: checked }, { timeoutMs: FILE_CALL_TIMEOUT_MS }));
    return { status: "ok" as const };
  };

  /**
   * Streams the file part to the agent as it arrives. The path must come
   * before the file, so that it is checked (invalid_path) before any compute
   * starts and before any of the file is read.
   */
  const upload = async (caller: Caller, body: ReadableStream<Uint8Array>): Promise<typeof UploadResult.static> => {
    const parts = multipartParts(body, multipartBoundary(caller.request.headers.get("content-type")));
    let path: string | undefined;
    let result: typeof UploadResult.static | undefined;
    for await (const part of parts) {
      if (part.name === "path") {
        path = await partText(part, MAX_PATH_FIELD_BYTES);
      } else if (part.name === "file") {
        if (result) throw new ValidationError("field file is sent more than once", { field: "file" });
        if (path === undefined) throw new ValidationError("field path must come before field file", { field: "path" });
        const checked = normalizeWorkspacePath(path);
        const file = part.body;
        let sent = false;
        result = await onAgent(caller, (agent) => {
          // The bytes can be sent once: an agent replaced after they began cannot be given them again.
          if (sent) throw new AgentError("the sandbox's agent was replaced while the upload began; send it again", { path: checked });
          sent = true;
          return agent.send(UPLOAD_FILE, { path: checked }, file, { timeoutMs: FILE_CALL_TIMEOUT_MS });
        });
      }
    }
    if (!result) throw new ValidationError(path === undefined ? "fields path and file are missing" : "field file is missing", { field: "file" });
    return result;
  };

  return new Elysia()
    .use(auth)
    .get(operationRoute(READ_FILE_OPERATION), (context) => read(callerOf(context), context.query.path), queryOperationHook(READ_FILE_OPERATION, { tags }))
    .put(operationRoute(WRITE_FILE_OPERATION), (context) => write(callerOf(context), context.body.path, context.body.content), bodyOperationHook(WRITE_FILE_OPERATION, { tags }))
    .delete(operationRoute(DELETE_FILE_OPERATION), (context) => remove(callerOf(context), context.query.path), queryOperationHook(DELETE_FILE_OPERATION, { tags }))
    .get(
      operationRoute(LIST_DIRECTORY_OPERATION),
      (context) => list(callerOf(context), context.query.path, context.query.depth),
      queryOperationHook(LIST_DIRECTORY_OPERATION, { tags, description: `At most ${MAX_LIST_ENTRIES} entries; a deeper or larger tree is 422.` }),
    )
    .get(operationRoute(FILE_INFO_OPERATION), (context) => stat(callerOf(context), context.query.path), queryOperationHook(FILE_INFO_OPERATION, { tags }))
    .post(
      operationRoute(MAKE_DIRECTORY_OPERATION),
      (context) => makeDirectory(callerOf(context), context.body.path),
      bodyOperationHook(MAKE_DIRECTORY_OPERATION, { tags }),
    )
    .post(
      operationRoute(MOVE_OPERATION),
      (context) => move(callerOf(context), context.body.source, context.body.destination),
      bodyOperationHook(MOVE_OPERATION, { tags, description: "409 conflict when the destination is a directory that is not empty." }),
    )
    .get(
      "/v1/sandboxes/:id/filesystem/watch",
      (context) => {
        const caller = callerOf(context);
        const path = normalizeWorkspacePath(context.query.path ?? ".");
        // A watcher keeps the sandbox busy while it follows it, as any stream does.
        return streamOnAgent(caller, async (agent) => {
          const changes = await agent.openRoute(WATCH_DIRECTORY, { path, recursive: context.query.recursive }, { timeoutMs: FILE_CALL_TIMEOUT_MS });
          return relayedEventStream(changes, context.set.headers);
        });
      },
      {
        params: SandboxParams,
        query: queryStringSchema(WatchQuery),
        response: { 200: t.Any({ description: "text/event-stream" }), ...capabilityRouteErrors },
        detail: {
          summary: "Watch a directory's changes as server-sent events",
          tags,
          description:
            "`ready` once the watch is in place, then `create`, `write` and `remove` with `{path}` relative to /workspace " +
            "(a rename is a remove and a create); `overflow` `{dropped}` if the reader fell more than 10 000 changes behind. " +
            "The stream ends when the client leaves or the directory goes.",
        },
      },
    )
    .post(streamedBodyRoute("/v1/sandboxes/:id/filesystem/upload"), (context) => upload(callerOf(context), streamOf(context.body)), {
      params: SandboxParams,
      response: { 200: UploadResult, ...capabilityRouteErrors },
      detail: {
        summary: "Upload a file (multipart/form-data: path, then file); the bytes stream through to the sandbox",
        tags,
        requestBody: { required: true, content: { "multipart/form-data": { schema: UploadForm } } },
      },
    })
    .get(
      "/v1/sandboxes/:id/filesystem/download",
      (context) => {
        const path = normalizeWorkspacePath(context.query.path);
        const caller = callerOf(context);
        // The transfer outlives the call: the sandbox counts as busy until the last byte (or the client leaves).
        return streamOnAgent(caller, async (agent) => {
          const download = await agent.openRoute(DOWNLOAD_FILE, { path }, { timeoutMs: FILE_CALL_TIMEOUT_MS });
          return relayedResponse(download, context.set.headers, ["content-type", "content-length", "content-disposition"]);
        });
      },
      {
        params: SandboxParams,
        query: PathQuery,
        response: { 200: t.Any({ description: "The raw bytes (application/octet-stream)" }), ...capabilityRouteErrors },
        detail: { summary: "Download a file's raw bytes", tags },
      },
    )
    .post("/v1/sandboxes/:id/files/read", (context) => read(callerOf(context), context.body.path), {
      params: SandboxParams,
      body: ReadFileRequest,
      response: { 200: FileContent, ...capabilityRouteErrors },
      detail: { summary: "Phase-1 alias of GET …/filesystem/files", tags },
    })
    .post("/v1/sandboxes/:id/files/write", (context) => write(callerOf(context), context.body.path, context.body.content), {
      params: SandboxParams,
      body: WriteFileRequest,
      response: { 200: StatusOk, ...capabilityRouteErrors },
      detail: { summary: "Phase-1 alias of PUT …/filesystem/files", tags },
    })
    .post("/v1/sandboxes/:id/files/list", (context) => list(callerOf(context), context.body?.path), {
      params: SandboxParams,
      body: t.Optional(ListDirectoryRequest),
      response: { 200: DirectoryListing, ...capabilityRouteErrors },
      detail: { summary: "Phase-1 alias of GET …/filesystem/directories", tags },
    })
    .post("/v1/sandboxes/:id/files/delete", (context) => remove(callerOf(context), context.body.path), {
      params: SandboxParams,
      body: DeleteFileRequest,
      response: { 200: StatusOk, ...capabilityRouteErrors },
      detail: { summary: "Phase-1 alias of DELETE …/filesystem/files", tags },
    });
}
