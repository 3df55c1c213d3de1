import { agentRoute } from "../../src/kit/capability.ts";
import {
  DeleteFileRequest,
  DirectoryListing,
  FileContent,
  FileInfo,
  MadeDirectory,
  MakeDirectoryRequest,
  MoveRequest,
  WatchQuery,
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
export const FILE_INFO = agentRoute("POST", "/fs/stat", { input: PathQuery, answer: FileInfo });
export const MAKE_DIRECTORY = agentRoute("POST", "/fs/make_dir", { input: MakeDirectoryRequest, answer: MadeDirectory });
export const MOVE_ENTRY = agentRoute("POST", "/fs/move", { input: MoveRequest, answer: FileInfo });
/** Answers an event stream of the directory's changes until the reader leaves. */
export const WATCH_DIRECTORY = agentRoute("GET", "/fs/watch", { input: WatchQuery, answer: undefined });
