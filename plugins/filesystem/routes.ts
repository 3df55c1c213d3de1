import { agentRoute } from "../../src/kit/capability.ts";
import {
  DeleteFileRequest,
  DirectoryListing,
  FileContent,
  ListDirectoryRequest,
  PathQuery,
  ReadFileRequest,
  StatusOk,
  UploadResult,
  WriteFileRequest,
} from "./schemas.ts";

/** The agent's routes for files, used by both halves. */
export const READ_FILE = agentRoute("POST", "/fs/read_file", { input: ReadFileRequest, answer: FileContent });
export const WRITE_FILE = agentRoute("POST", "/fs/write_file", { input: WriteFileRequest, answer: StatusOk });
export const LIST_DIRECTORY = agentRoute("POST", "/fs/list_dir", { input: ListDirectoryRequest, answer: DirectoryListing });
export const DELETE_FILE = agentRoute("POST", "/fs/delete_file", { input: DeleteFileRequest, answer: StatusOk });
/** The path in the query; the body is the file's bytes, streamed. */
export const UPLOAD_FILE = agentRoute("POST", "/fs/upload", { input: PathQuery, inputIn: "query", answer: UploadResult });
/** Answers the file's raw bytes. */
export const DOWNLOAD_FILE = agentRoute("GET", "/fs/download", { input: PathQuery, answer: undefined });
