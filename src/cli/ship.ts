import { readFileSync } from "node:fs";
import type { CommandDef } from "citty";
import { parseStringArgs, type StringArgs } from "./string-args.ts";
import { AGENT_DEFAULT_PORT, AGENT_TOKEN_ENV, SANDBOX_HOME, WORKSPACE_MOUNT_PATH } from "../shared/agent-protocol.ts";

const shipArgs = {
  port: { type: "string", description: "Port to listen on", default: String(AGENT_DEFAULT_PORT) },
  host: { type: "string", description: "Address to listen on", default: "0.0.0.0" },
  socket: { type: "string", description: "Listen on this unix socket instead of a TCP port (sandboxes without network)" },
  "token-file": { type: "string", description: `Read the session token from this file (root's alone); without it, from ${AGENT_TOKEN_ENV}` },
  workspace: { type: "string", description: "Workspace directory", default: WORKSPACE_MOUNT_PATH },
  home: { type: "string", description: "HOME of the sandbox user", default: SANDBOX_HOME },
  "cache-dir": { type: "string", description: "Where tools of user code keep caches (IPython, matplotlib)", default: "/tmp/.bay-cache" },
  "profile-env": { type: "string", description: "Comma-separated names of the profile's variables (written to .bay_env.sh)", default: "" },
  "max-output-bytes": { type: "string", description: "Cap for each output field", default: String(1024 * 1024) },
  "max-user-processes": { type: "string", description: "Most processes user code may have at once (RLIMIT_NPROC; gVisor sandboxes, where the kernel counts per sandbox)" },
} as const satisfies StringArgs;

/**
 * `bay ship ARGS…`, the agent of every sandbox. src/main.ts runs it before
 * citty loads: every cold start waits for the agent's own start.
 */
export async function runShip(argv: string[]): Promise<void> {
  let args: ReturnType<typeof parseStringArgs<typeof shipArgs>>;
  try {
    args = parseStringArgs(shipArgs, argv);
  } catch (error) {
    console.error(`bay ship: ${(error as Error).message}`);
    process.exit(2);
  }
  const token = await sessionToken(args["token-file"]);
  const { startAgentWithPlugins } = await import("../composition/agent.ts");
  const agent = await startAgentWithPlugins({
    port: Number(args.port),
    host: args.host,
    socket: args.socket,
    token,
    workspace: args.workspace,
    home: args.home,
    cacheDir: args["cache-dir"],
    profileEnvNames: args["profile-env"].split(",").filter(Boolean),
    maxOutputBytes: Number(args["max-output-bytes"]),
    maxUserProcesses: args["max-user-processes"] === undefined ? undefined : Number(args["max-user-processes"]),
  });
  const shutdown = async () => {
    await agent.stop();
    process.exit(0);
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}

/** The token every request to the agent must carry; without one the agent does not start. */
async function sessionToken(tokenFile: string | undefined): Promise<string> {
  if (tokenFile !== undefined) {
    try {
      const token = readFileSync(tokenFile, "utf8").trim();
      if (token) return token;
      console.error(`agent: the token file ${tokenFile} is empty; the agent refuses to run without a session token`);
    } catch (error) {
      console.error(`agent: cannot read the token file ${tokenFile} (${(error as NodeJS.ErrnoException).code}); the agent refuses to run without a session token`);
    }
    process.exit(2);
  }
  const token = process.env[AGENT_TOKEN_ENV];
  if (!token) {
    console.error(`agent: neither --token-file nor ${AGENT_TOKEN_ENV} is set; the agent refuses to run without a session token`);
    process.exit(2);
  }
  // The token stays in the agent's memory only: not in the environment block user code might read (gVisor's /proc).
  const { scrubFromInitialEnvironment } = await import("../agent/scrub-environment.ts");
  scrubFromInitialEnvironment(AGENT_TOKEN_ENV);
  return token;
}

/** For `bay --help` and `bay ship --help`; a plain definition, so that loading this module does not load citty. */
const shipCommand: CommandDef<typeof shipArgs> = {
  meta: { name: "ship", description: "Run the in-sandbox agent (Bay starts this inside each container)" },
  args: shipArgs,
  run: ({ rawArgs }) => runShip(rawArgs),
};
export default shipCommand;
