import type Docker from "dockerode";
import { consola } from "consola";
import { KeyedMutex, LABEL } from "../../src/kit/driver.ts";
import type { CommandRunner } from "./egress-firewall.ts";
import { demultiplexLogs, streamBytes } from "./engine-streams.ts";
import { statusOf, type EngineCall } from "./errors.ts";
import type { OwnContainer } from "./own-container.ts";

/** Marks a helper with the id of the Bay container it serves. */
export const HOST_NETWORK_HELPER_LABEL = "bay.host_network_helper_for";

/**
 * Runs commands in the engine host's network namespace for a Bay that runs
 * in a container of its own: the sandbox firewall lives on the host, where
 * Bay's container cannot reach. A helper container from Bay's own image
 * (which has iptables) joins the host's network namespace with NET_ADMIN and
 * Bay's PID namespace: when Bay's container ends, the kernel ends the helper
 * with it, and the engine removes it. Commands run in it through the
 * engine's exec; Bay can do this because it holds the engine socket, which
 * is root on the host already.
 */
export class HostNetworkShell {
  private readonly starting = new KeyedMutex();
  private container: Docker.Container | null = null;
  /** iptables-nft or iptables-legacy: whichever the engine wrote its own chains with. */
  private backend: "nft" | "legacy" | null = null;

  constructor(
    private readonly docker: Docker,
    private readonly engine: EngineCall,
    private readonly bay: OwnContainer,
  ) {}

  readonly run: CommandRunner = async (command, input) => {
    const container = await this.helper();
    return this.exec(container, this.withBackend(command), input);
  };

  /** Removes the helper; a Bay that ends without this loses it anyway with its PID namespace. */
  async close(): Promise<void> {
    const container = this.container;
    this.container = null;
    if (container) await this.engine("remove the host network helper", () => container.remove({ force: true })).catch(() => undefined);
  }

  private async helper(): Promise<Docker.Container> {
    return this.starting.run("helper", async () => {
      if (this.container) return this.container;
      const name = `bay-host-network-${this.bay.id.slice(0, 12)}`;
      // One left by an earlier run of the same container (a restart keeps its id) is replaced.
      await this.engine("remove an old host network helper", async () => {
        try {
          await this.docker.getContainer(name).remove({ force: true });
        } catch (error) {
          if (statusOf(error) !== 404) throw error;
        }
      });
      const container = await this.engine("create the host network helper", () =>
        this.docker.createContainer({
          name,
          Image: this.bay.imageId,
          Entrypoint: ["sleep", "infinity"],
          Labels: { [LABEL.managed]: "true", [HOST_NETWORK_HELPER_LABEL]: this.bay.id },
          HostConfig: {
            NetworkMode: "host",
            PidMode: `container:${this.bay.id}`,
            AutoRemove: true,
            CapDrop: ["ALL"],
            CapAdd: ["NET_ADMIN", "NET_RAW"],
            SecurityOpt: ["no-new-privileges"],
            ReadonlyRootfs: true,
            // iptables -w takes its lock under /run.
            Tmpfs: { "/run": "rw,size=1m" },
          },
        }),
      );
      await this.engine("start the host network helper", () => container.start());
      this.container = container;
      this.backend = await this.detectBackend(container);
      consola.info(`docker driver: host firewall through helper container ${name} (iptables-${this.backend})`);
      return container;
    });
  }

  /** The engine's DOCKER-USER chain is where Bay hooks in: the backend that shows it is the host's. */
  private async detectBackend(container: Docker.Container): Promise<"nft" | "legacy"> {
    for (const backend of ["nft", "legacy"] as const) {
      if ((await this.exec(container, [`iptables-${backend}`, "-w", "5", "-S", "DOCKER-USER"])).code === 0) return backend;
    }
    return "nft";
  }

  private withBackend(command: string[]): string[] {
    const [program, ...args] = command;
    const renamed = this.backend && /^ip6?tables(-restore)?$/.test(program!)
      ? program!.replace(/^(ip6?tables)/, `$1-${this.backend}`)
      : program!;
    return [renamed, ...args];
  }

  private async exec(container: Docker.Container, command: string[], input?: string): Promise<{ code: number; output: string }> {
    // Input travels in the environment and is piped in by the shell: exec then needs no stdin stream.
    const cmd = input === undefined ? command : ["sh", "-c", 'printf "%s" "$BAY_INPUT" | "$@"', "sh", ...command];
    return this.engine("run a command in the host network helper", async () => {
      const exec = await container.exec({
        Cmd: cmd,
        Env: input === undefined ? [] : [`BAY_INPUT=${input}`],
        AttachStdout: true,
        AttachStderr: true,
      });
      const output = demultiplexLogs(await streamBytes(await exec.start({ hijack: true, stdin: false })));
      const { ExitCode } = await exec.inspect();
      return { code: ExitCode ?? 1, output };
    });
  }
}
