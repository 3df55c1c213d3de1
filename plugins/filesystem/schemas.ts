import { Type, type Static } from "@sinclair/typebox";

/** One source for Bay's validation, the agent's re-check and the OpenAPI document. */
const Path = Type.String({ description: "Path relative to /workspace" });

export const PathQuery = Type.Object({ path: Path });
export const DirectoryQuery = Type.Object({ path: Type.Optional(Type.String({ default: ".", description: "Directory relative to /workspace" })) });

export const ReadFileRequest = Type.Object({ path: Path });
export const WriteFileRequest = Type.Object({
  path: Path,
  content: Type.String({ description: "UTF-8 text; parent directories are created" }),
});
export const ListDirectoryRequest = Type.Object({
  path: Type.Optional(Type.String({ default: ".", description: "Directory relative to /workspace" })),
});
export const DeleteFileRequest = Type.Object({ path: Path });

export const FileContent = Type.Object({ content: Type.String() });
export const StatusOk = Type.Object({ status: Type.Literal("ok") });

export const DirectoryEntry = Type.Object({
  name: Type.String(),
  path: Type.String({ description: "Relative to /workspace" }),
  is_file: Type.Boolean(),
  is_dir: Type.Boolean(),
  size: Type.Integer({ description: "Bytes" }),
  modified_time: Type.String({ format: "date-time" }),
  modified_at: Type.String({ format: "date-time", description: "The same time under the name shipyard-neo's SDK reads" }),
});
export const DirectoryListing = Type.Object({ entries: Type.Array(DirectoryEntry) });
export type DirectoryEntry = Static<typeof DirectoryEntry>;

/** The upload's multipart form (for the OpenAPI document; Bay reads it as a stream). */
export const UploadForm = Type.Object({
  path: Type.String({ description: "Target path relative to /workspace; send it before file" }),
  file: Type.String({ format: "binary", description: "The bytes to store, exactly" }),
});

export const UploadResult = Type.Object({
  status: Type.Literal("ok"),
  path: Type.String(),
  size: Type.Integer({ description: "Bytes stored" }),
});
