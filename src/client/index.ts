/** The TypeScript SDK: `import { Bay } from "bay"`. */
export { Bay, type BayOptions, type CallControl } from "./bay-client.ts";
export { BayError, type ErrorCode } from "../shared/errors.ts";
export type * from "./types.ts";
