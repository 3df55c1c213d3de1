import type { Socket, TCPSocketListener } from "bun";

/**
 * Where clients connect to `bay serve`: Bun's HTTP server has no connection
 * limit, and gives a new connection about 10 s for its first request header
 * whatever its idleTimeout says. Here, past `maxConnections` open
 * connections a new one is closed at once, before a byte of it is read (the
 * contract has no "busy" code, and answering would mean reading); a
 * connection whose first request header is not whole within
 * `headerTimeoutMs` is closed. The rest is relayed byte for byte to the HTTP
 * server on a private unix socket, each side read only as fast as the other
 * takes the bytes, so the relay holds little whatever flows through it.
 */
export interface FrontDoorOptions {
  hostname: string;
  port: number;
  maxConnections: number;
  /** Open connections from one client address at most, so that one client cannot hold every slot. */
  maxConnectionsPerClient: number;
  /** A new connection that has not sent one whole request header this long after it opened is closed. */
  headerTimeoutMs: number;
  /** The unix socket of the HTTP server behind. */
  upstream: string;
}

export interface FrontDoor {
  readonly port: number;
  /** Stops accepting; connections already open carry on. */
  stop(): void;
}

/** One direction of the relay: bytes the target could not take yet, with the source paused until they are gone. */
interface Pipe {
  target: Socket<unknown> | null;
  source: Socket<unknown> | null;
  queued: Uint8Array[];
  /** The source has closed: the target is ended once the queue is written. */
  ending: boolean;
}

interface Relay {
  toUpstream: Pipe;
  toClient: Pipe;
  /** Until the first request header is whole: its deadline, and the last bytes seen (the end may straddle chunks). */
  headerDeadline: Timer | undefined;
  headerTail: string;
}

const HEADER_END = "\r\n\r\n";

/** Watches the first request header arrive; once it is whole, the HTTP server's own timeouts take over. */
function watchHeader(relay: Relay, bytes: Uint8Array): void {
  if (!relay.headerDeadline) return;
  const seen = relay.headerTail + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
  if (seen.includes(HEADER_END)) {
    clearTimeout(relay.headerDeadline);
    relay.headerDeadline = undefined;
  } else {
    relay.headerTail = seen.slice(-(HEADER_END.length - 1));
  }
}

const newPipe = (target: Socket<unknown> | null, source: Socket<unknown> | null): Pipe => ({ target, source, queued: [], ending: false });

/** Writes what the target takes; keeps the rest queued and pauses the source until `drain`. */
function forward(pipe: Pipe, bytes: Uint8Array): void {
  if (!pipe.target || pipe.queued.length > 0) {
    pipe.queued.push(bytes);
    pipe.source?.pause();
    return;
  }
  const written = pipe.target.write(bytes);
  if (written < bytes.byteLength) {
    pipe.queued.push(bytes.subarray(Math.max(0, written)));
    pipe.source?.pause();
  }
}

function flush(pipe: Pipe): void {
  while (pipe.target && pipe.queued.length > 0) {
    const bytes = pipe.queued[0]!;
    const written = pipe.target.write(bytes);
    if (written < bytes.byteLength) {
      pipe.queued[0] = bytes.subarray(Math.max(0, written));
      return;
    }
    pipe.queued.shift();
  }
  if (pipe.queued.length > 0) return;
  if (pipe.ending) pipe.target?.end();
  else pipe.source?.resume();
}

/** The source of `pipe` is gone: what it sent still reaches the target, then the target is ended. */
function sourceClosed(pipe: Pipe): void {
  if (pipe.ending) return;
  pipe.ending = true;
  if (!pipe.target) return;
  flush(pipe);
}

export function listenFrontDoor(options: FrontDoorOptions): FrontDoor {
  let open = 0;
  const openByClient = new Map<string, number>();
  const release = (address: string) => {
    const left = (openByClient.get(address) ?? 1) - 1;
    if (left > 0) openByClient.set(address, left);
    else openByClient.delete(address);
  };
  const listener: TCPSocketListener<Relay | undefined> = Bun.listen<Relay | undefined>({
    hostname: options.hostname,
    port: options.port,
    socket: {
      open(client) {
        const fromClient = openByClient.get(client.remoteAddress) ?? 0;
        if (open >= options.maxConnections || fromClient >= options.maxConnectionsPerClient) {
          client.data = undefined;
          client.end();
          return;
        }
        open += 1;
        openByClient.set(client.remoteAddress, fromClient + 1);
        const relay: Relay = {
          toUpstream: newPipe(null, client as Socket<unknown>),
          toClient: newPipe(client as Socket<unknown>, null),
          headerDeadline: setTimeout(() => client.terminate(), options.headerTimeoutMs),
          headerTail: "",
        };
        client.data = relay;
        Bun.connect<Relay>({
          unix: options.upstream,
          data: relay,
          socket: {
            open(upstream) {
              relay.toUpstream.target = upstream as Socket<unknown>;
              relay.toClient.source = upstream as Socket<unknown>;
              flush(relay.toUpstream);
            },
            data(_upstream, bytes) {
              forward(relay.toClient, bytes);
            },
            drain() {
              flush(relay.toUpstream);
            },
            close() {
              sourceClosed(relay.toClient);
            },
          },
        }).catch(() => {
          relay.toUpstream.queued = [];
          sourceClosed(relay.toClient);
        });
      },
      data(client, bytes) {
        if (!client.data) return;
        watchHeader(client.data, bytes);
        forward(client.data.toUpstream, bytes);
      },
      drain(client) {
        if (client.data) flush(client.data.toClient);
      },
      close(client) {
        if (!client.data) return;
        open -= 1;
        release(client.remoteAddress);
        const relay = client.data;
        client.data = undefined;
        clearTimeout(relay.headerDeadline);
        // Nothing more can reach the client: drop what waited for it, let the upstream go once it has the rest.
        relay.toClient.queued = [];
        relay.toClient.target = null;
        relay.toUpstream.source = null;
        sourceClosed(relay.toUpstream);
      },
    },
  });
  return {
    port: listener.port,
    stop: () => listener.stop(),
  };
}
