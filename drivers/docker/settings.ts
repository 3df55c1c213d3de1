import { Type, type Static } from "@sinclair/typebox";

/** The Docker driver's section of the config, `driver.docker`; validated with its defaults at load. */
export const DockerSettingsSchema = Type.Object(
  {
    socket: Type.String({ default: "/var/run/docker.sock" }),
    connect_mode: Type.Union(
      [Type.Literal("host_port"), Type.Literal("container_network"), Type.Literal("auto")],
      { default: "auto" },
    ),
    /** Unused since sandboxes join Bay's own policy networks (docs/security.md); accepted so that old configs load. */
    network: Type.Union([Type.String({ minLength: 1 }), Type.Null()], { default: null }),
    host_address: Type.String({ default: "127.0.0.1" }),
    pull_policy: Type.Union([Type.Literal("if_not_present"), Type.Literal("never")], {
      default: "if_not_present",
    }),
    /**
     * How sandbox networks are fenced on the engine's host: iptables (Bay
     * needs root in the host's network namespace), or off (unsafe: sandboxes
     * can then reach the host and private ranges; for hosts fenced otherwise).
     */
    egress_firewall: Type.Union([Type.Literal("iptables"), Type.Literal("off")], { default: "iptables" }),
    /**
     * More IPv4 addresses or CIDRs that internet sandboxes never reach: list the host's own public
     * addresses when it sits behind 1:1 NAT (a cloud VM), and any load balancer in front of Bay.
     */
    egress_deny: Type.Array(Type.String({ pattern: "^[0-9]{1,3}(\\.[0-9]{1,3}){3}(/[0-9]{1,2})?$" }), { default: [] }),
    /**
     * Network namespaces a long-lived Bay keeps ready per sandbox network in
     * use, for sandboxes to join instead of waiting for the engine to set one
     * up (drivers/docker/network-slots.ts); 0 turns them off. Each is a small
     * idle container.
     */
    network_slots: Type.Integer({ minimum: 0, maximum: 64, default: 2 }),
    /**
     * Deadline of each engine call; past it the call fails with driver_unavailable.
     * Image pulls and the event stream are long-lived and exempt.
     */
    engine_timeout_seconds: Type.Number({ exclusiveMinimum: 0, default: 20 }),
    /** The name gVisor's runsc is registered under in the engine (daemon.json "runtimes"), for profiles with runtime: gvisor. */
    gvisor_runtime: Type.String({ minLength: 1, default: "runsc" }),
  },
  { additionalProperties: false, default: {} },
);
export type DockerSettings = Static<typeof DockerSettingsSchema>;
