import { sandboxOperation } from "../../src/kit/capability.ts";
import {
  DirectoryListing,
  DirectoryQuery,
  FileContent,
  FileInfo,
  MadeDirectory,
  MakeDirectoryRequest,
  MoveRequest,
  PathQuery,
  StatusOk,
  WriteFileRequest,
} from "./schemas.ts";

/**
 * What clients can do with files as JSON, over the API, the SDK, `bay mcp`
 * and `bay call`. Uploads and downloads carry raw bytes and have routes of
 * their own (bay-routes.ts).
 */
export const READ_FILE_OPERATION = sandboxOperation({
  name: "filesystem.read",
  method: "GET",
  path: "/filesystem/files",
  input: PathQuery,
  output: FileContent,
  summary: "Read a UTF-8 text file (binary files: use download)",
  safeToRepeat: true,
  tool: {
    name: "read_file",
    description: "Read a UTF-8 text file from the sandbox (path relative to /workspace).",
    present: (file) => ({ text: file.content }),
  },
});

export const WRITE_FILE_OPERATION = sandboxOperation({
  name: "filesystem.write",
  method: "PUT",
  path: "/filesystem/files",
  input: WriteFileRequest,
  output: StatusOk,
  summary: "Write a text file; parent directories are created",
  safeToRepeat: true,
  tool: {
    name: "write_file",
    description: "Write a UTF-8 text file into the sandbox (path relative to /workspace; parent directories are created).",
    present: (_, input) => ({ text: `wrote ${input.path}` }),
  },
});

export const DELETE_FILE_OPERATION = sandboxOperation({
  name: "filesystem.delete",
  method: "DELETE",
  path: "/filesystem/files",
  input: PathQuery,
  output: StatusOk,
  summary: "Delete a file, or a directory recursively",
  safeToRepeat: true,
});

export const LIST_DIRECTORY_OPERATION = sandboxOperation({
  name: "filesystem.list",
  method: "GET",
  path: "/filesystem/directories",
  input: DirectoryQuery,
  output: DirectoryListing,
  summary: "List a directory",
  safeToRepeat: true,
  tool: {
    name: "list_files",
    description: "List a directory of the sandbox (path relative to /workspace, default the workspace itself).",
  },
});

export const FILE_INFO_OPERATION = sandboxOperation({
  name: "filesystem.stat",
  method: "GET",
  path: "/filesystem/stat",
  input: PathQuery,
  output: FileInfo,
  summary: "Describe a file, directory or symlink (a symlink itself, with its target)",
  safeToRepeat: true,
});

export const MAKE_DIRECTORY_OPERATION = sandboxOperation({
  name: "filesystem.mkdir",
  method: "POST",
  path: "/filesystem/directories",
  input: MakeDirectoryRequest,
  output: MadeDirectory,
  summary: "Make a directory and its missing parents",
  safeToRepeat: true,
});

export const MOVE_OPERATION = sandboxOperation({
  name: "filesystem.move",
  method: "POST",
  path: "/filesystem/move",
  input: MoveRequest,
  output: FileInfo,
  summary: "Move or rename a file or directory",
});

export const FILESYSTEM_OPERATIONS = [
  READ_FILE_OPERATION,
  WRITE_FILE_OPERATION,
  DELETE_FILE_OPERATION,
  LIST_DIRECTORY_OPERATION,
  FILE_INFO_OPERATION,
  MAKE_DIRECTORY_OPERATION,
  MOVE_OPERATION,
];
