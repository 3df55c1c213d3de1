import { Type, type Static } from "@sinclair/typebox";

/** One source for Bay's validation, the agent's re-check and the OpenAPI document. */
const Path = Type.String({ description: "Path relative to /workspace" });

export const PathQuery = Type.Object({ path: Path });
const ListDepth = Type.Optional(
  Type.Integer({ minimum: 1, maximum: 10, default: 1, description: "1: the directory's entries; 2: theirs too; … (symlinks are not descended)" }),
);
export const DirectoryQuery = Type.Object({
  path: Type.Optional(Type.String({ default: ".", description: "Directory relative to /workspace" })),
  depth: ListDepth,
});

export const ReadFileRequest = Type.Object({ path: Path });
export const WriteFileRequest = Type.Object({
  path: Path,
  content: Type.String({ description: "UTF-8 text; parent directories are created" }),
});
export const ListDirectoryRequest = Type.Object({
  path: Type.Optional(Type.String({ default: ".", description: "Directory relative to /workspace" })),
  depth: ListDepth,
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

/** A listing holds at most this many entries; deeper or larger trees are cut (and say so). */
export const MAX_LIST_ENTRIES = 10_000;


export const FileInfo = Type.Object({
  name: Type.String(),
  path: Type.String({ description: "Relative to /workspace" }),
  type: Type.Union([Type.Literal("file"), Type.Literal("dir"), Type.Literal("symlink"), Type.Literal("other")]),
  size: Type.Integer({ description: "Bytes" }),
  mode: Type.Integer({ description: "Permission bits, e.g. 420 (0644)" }),
  permissions: Type.String({ description: "As ls shows them, e.g. -rw-r--r--" }),
  owner: Type.String(),
  group: Type.String(),
  modified_time: Type.String({ format: "date-time" }),
  symlink_target: Type.Union([Type.String(), Type.Null()], { description: "For a symlink: where it points, as written" }),
});
export type FileInfo = Static<typeof FileInfo>;

export const MakeDirectoryRequest = Type.Object({ path: Path }, { additionalProperties: false });
export const MadeDirectory = Type.Object({
  path: Type.String(),
  created: Type.Boolean({ description: "false when the directory already existed" }),
});
export const MoveRequest = Type.Object(
  { source: Path, destination: Type.String({ description: "New path relative to /workspace; missing parents are created, an existing file is replaced" }) },
  { additionalProperties: false },
);
export const WatchQuery = Type.Object({
  path: Type.Optional(Type.String({ default: ".", description: "Directory relative to /workspace" })),
  recursive: Type.Optional(Type.Boolean({ default: false, description: "Also what happens in its subdirectories" })),
});
export type WatchQuery = Static<typeof WatchQuery>;
