import type { Static } from "@sinclair/typebox";
import type * as api from "../api/schemas.ts";
import type * as files from "../../plugins/filesystem/schemas.ts";
import type * as python from "../../plugins/python/schemas.ts";
import type * as shell from "../../plugins/shell/schemas.ts";

/**
 * The SDK's types are the server's request and response schemas: one source,
 * so the client cannot drift from what the server validates and answers.
 */
export type Sandbox = Static<typeof api.Sandbox>;
export type SandboxPage = Static<typeof api.SandboxPage>;
export type CreateSandboxInput = Static<typeof api.CreateSandboxBody>;
export type ListSandboxesInput = Static<typeof api.ListSandboxesQuery>;
export type Cargo = Static<typeof api.Cargo>;
export type CargoPage = Static<typeof api.CargoPage>;
export type CreateCargoInput = Static<typeof api.CreateCargoBody>;
export type ListCargosInput = Static<typeof api.ListCargosQuery>;
export type Profile = Static<typeof api.Profile>;
export type Health = Static<typeof api.Health>;
export type ErrorBody = Static<typeof api.ErrorBody>;

export type PythonExecInput = Static<typeof python.PythonExecRequest>;
export type PythonExecResult = Static<typeof python.PythonExecResponse>;
export type PythonContext = Static<typeof python.PythonContext>;
export type ShellExecInput = Static<typeof shell.ShellExecRequest>;
export type ShellExecResult = Static<typeof shell.ShellExecResponse>;

export type ProcessStartInput = Static<typeof shell.ProcessStartRequest>;
export type ProcessInfo = Static<typeof shell.ProcessInfo>;
export type ProcessOutput = Static<typeof shell.ProcessOutput>;
export type ProcessSignal = Static<typeof shell.ProcessSignalRequest>["signal"];
export type ProcessStreamInput = Omit<Static<typeof shell.ProcessStreamQuery>, "pid">;
/** One event of …/processes/stream. */
export type ProcessEvent =
  | { event: "stdout" | "stderr" | "pty"; data: { seq: number; data: string } }
  | { event: "dropped"; data: { bytes: number } }
  | { event: "exit"; data: ProcessInfo };
/** One event of a followed start (…/processes with Accept: text/event-stream): `start`, then those of …/processes/stream. */
export type ProcessRunEvent = { event: "start"; data: ProcessInfo } | ProcessEvent;

export type DirectoryEntry = Static<typeof files.DirectoryEntry>;
export type FileInfo = Static<typeof files.FileInfo>;
/** One event of …/filesystem/watch. */
export type WatchEvent =
  | { event: "ready"; data: { path: string; recursive: boolean } }
  | { event: "create" | "write" | "remove"; data: { path: string } }
  | { event: "rename"; data: { path: string; destination: string } }
  | { event: "overflow"; data: { dropped: number } };
export type UploadResult = Static<typeof files.UploadResult>;

export type GcReport = Static<typeof api.GcRunReport>;
export type AdminOverview = Static<typeof api.AdminOverview>;
export type GcStatus = Static<typeof api.GcStatus>;

/** One Server-Sent Event of a streamed execution. */
export type ExecutionEvent<Done> =
  | { event: "stdout" | "stderr"; data: { text: string } }
  | { event: "result"; data: { data: Record<string, string>; kind?: "result" | "display" } }
  | { event: "error"; data: { text?: string; code?: string; message?: string } }
  | { event: "done"; data: Done };
