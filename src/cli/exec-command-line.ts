/** What `bay exec` was asked to do, parsed from its raw arguments. */
export interface ExecRequest {
  flags: {
    url?: string;
    apiKey?: string;
    config?: string;
    dataDir?: string;
    profile?: string;
    timeout?: number;
    env: Record<string, string>;
    copyIn: { local: string; remote: string }[];
    copyOut: { remote: string; local: string }[];
    keep: boolean;
    sandbox?: string;
  };
  /** The command and its arguments, exactly as given after the flags. */
  command: string[];
}

export class ExecUsageError extends Error {}

const VALUE_FLAGS = new Set(["--url", "--api-key", "--config", "--data-dir", "--profile", "--timeout", "--env", "-e", "--cp", "--out", "--sandbox"]);

/**
 * Flags come first, like `docker run`; the first word that is not a flag
 * starts the command, and everything after it belongs to the command
 * (so `bay exec python -c 'print(1)'` keeps its -c).
 */
export function parseExecArguments(rawArgs: string[]): ExecRequest {
  const flags: ExecRequest["flags"] = { env: {}, copyIn: [], copyOut: [], keep: false };
  let index = 0;
  while (index < rawArgs.length) {
    const argument = rawArgs[index]!;
    if (argument === "--") {
      index++;
      break;
    }
    if (!argument.startsWith("-") || argument === "-") break;
    const [name, inlineValue] = argument.includes("=") && argument.startsWith("--") ? splitOnce(argument, "=") : [argument, undefined];
    if (name === "--keep") {
      flags.keep = true;
      index++;
      continue;
    }
    if (!VALUE_FLAGS.has(name)) throw new ExecUsageError(`unknown option ${name}`);
    const value = inlineValue ?? rawArgs[index + 1];
    if (value === undefined) throw new ExecUsageError(`${name} needs a value`);
    index += inlineValue === undefined ? 2 : 1;
    applyFlag(flags, name, value);
  }
  const command = rawArgs.slice(index);
  if (command.length === 0) throw new ExecUsageError("no command given (e.g. bay exec python -c 'print(1)')");
  return { flags, command };
}

function applyFlag(flags: ExecRequest["flags"], name: string, value: string): void {
  switch (name) {
    case "--url":
      flags.url = value;
      return;
    case "--api-key":
      flags.apiKey = value;
      return;
    case "--config":
      flags.config = value;
      return;
    case "--data-dir":
      flags.dataDir = value;
      return;
    case "--profile":
      flags.profile = value;
      return;
    case "--sandbox":
      flags.sandbox = value;
      return;
    case "--timeout": {
      const seconds = Number(value);
      if (!Number.isInteger(seconds) || seconds < 1 || seconds > 300) throw new ExecUsageError("--timeout takes whole seconds from 1 to 300");
      flags.timeout = seconds;
      return;
    }
    case "--env":
    case "-e": {
      const [key, envValue] = splitOnce(value, "=");
      if (!key || envValue === undefined) throw new ExecUsageError(`--env takes KEY=VALUE, got ${JSON.stringify(value)}`);
      flags.env[key] = envValue;
      return;
    }
    case "--cp": {
      const [local, remote] = splitOnce(value, ":");
      if (!local || !remote) throw new ExecUsageError(`--cp takes LOCAL:REMOTE, got ${JSON.stringify(value)}`);
      flags.copyIn.push({ local, remote });
      return;
    }
    case "--out": {
      const [remote, local] = splitOnce(value, ":");
      if (!remote || !local) throw new ExecUsageError(`--out takes REMOTE:LOCAL, got ${JSON.stringify(value)}`);
      flags.copyOut.push({ remote, local });
      return;
    }
  }
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + separator.length)];
}

/** Quotes words for `sh -c` so that the sandbox sees exactly these arguments. */
export function shellQuote(words: string[]): string {
  return words.map((word) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`)).join(" ");
}
