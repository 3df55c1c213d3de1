import { BayError } from "../../src/kit/front-door.ts";
import { SandboxCalls, sandboxPath, workspacePath } from "./bay-calls.ts";

/**
 * envd's file transfer routes (GET and POST /files) on Bay's download and
 * upload. E2B answers their errors as {code, message} with the HTTP status,
 * like its control API.
 */

/** GET /files?path=: the file's bytes. */
export async function readFile(calls: SandboxCalls, url: URL): Promise<Response> {
  const path = workspacePath(url.searchParams.get("path") ?? "");
  const download = await calls.raw("GET", `/filesystem/download?path=${encodeURIComponent(path)}`);
  return new Response(download.body, {
    status: 200,
    headers: { "content-type": "application/octet-stream", "content-length": download.headers.get("content-length") ?? "" },
  });
}

/**
 * POST /files: one multipart request with a `file` part per file; the
 * destination is `path`, or, for several files, each part's filename.
 * Answers what was written, as E2B's entries.
 */
export async function writeFiles(calls: SandboxCalls, url: URL, form: FormData): Promise<object[]> {
  const parts = form.getAll("file").filter((part): part is File => part instanceof File);
  if (parts.length === 0) throw new BayError("validation_error", "the upload holds no file part", { field: "file" });
  const single = url.searchParams.get("path");
  const written: object[] = [];
  for (const part of parts) {
    const path = workspacePath(single && parts.length === 1 ? single : part.name);
    const upload = new FormData();
    upload.set("path", path);
    upload.set("file", part);
    await calls.json("POST", "/filesystem/upload", { body: upload });
    written.push({ name: path.split("/").pop(), type: "file", path: sandboxPath(path) });
  }
  return written;
}
