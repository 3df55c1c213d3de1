import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Type } from "@sinclair/typebox";
import { loadBayConfig as loadConfig } from "../../src/composition/bay.ts";
import { loadConfig as loadWithCatalog } from "../../src/core/config/index.ts";
import { ConfigError } from "../../src/shared/errors.ts";
import { TTL_CEILING_SECONDS } from "../../src/core/ttl.ts";
import { thrownBy } from "../helpers/thrown.ts";

function yamlFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "bay-config-"));
  const file = join(dir, "bay.yaml");
  writeFileSync(file, text);
  return file;
}

const configErrorOf = (load: () => unknown) => thrownBy(ConfigError, load);

describe("configuration", () => {
  test("defaults apply with no file, env or flags", () => {
    const config = loadConfig({ env: {}, cwd: tmpdir() });
    expect(config.server).toEqual({
      host: "127.0.0.1",
      port: 8114,
      max_body_bytes: 128 * 1024 * 1024,
      request_header_timeout_seconds: 15,
      request_body_timeout_seconds: 60,
      max_connections: 1024,
      max_connections_per_client: 64,
      shutdown_grace_seconds: 30,
      stop_sessions_on_shutdown: false,
      drain_warm_pools_on_shutdown: false,
    });
    expect(config.driver.docker).toMatchObject({ socket: "/var/run/docker.sock", connect_mode: "auto", pull_policy: "if_not_present" });
    expect(config.gc).toEqual({ enabled: true, interval_seconds: 60, orphan_grace_seconds: 60 });
    expect(config.idempotency.ttl_hours).toBe(24);
    expect(config.security.allow_anonymous).toBe(false);
    expect(config.data_dir.endsWith("/.bay")).toBe(true);
    expect(config.profiles.map((p) => p.id)).toEqual(["python-default"]);
    expect(config.profiles[0]).toMatchObject({
      image: "python:3.12-slim",
      capabilities: ["filesystem", "shell", "python"],
      idle_timeout: 1800,
      network: "internet",
      resources: { cpus: 1, memory: "1g" },
    });
  });

  test("precedence is defaults < YAML < BAY_* environment < flags", () => {
    const file = yamlFile("server:\n  host: 0.0.0.0\n  port: 9000\ngc:\n  interval_seconds: 5\nidempotency:\n  ttl_hours: 2\n");
    const config = loadConfig({
      file,
      env: { BAY_SERVER__PORT: "9100", BAY_GC__INTERVAL_SECONDS: "7" },
      flags: { server: { port: 9200 } },
    });
    expect(config.server).toMatchObject({ host: "0.0.0.0", port: 9200 });
    expect(config.gc.interval_seconds).toBe(7);
    expect(config.idempotency.ttl_hours).toBe(2);
  });

  test("BAY_CONFIG names the file, and ./bay.yaml is read when present", () => {
    const file = yamlFile("server:\n  port: 9300\n");
    expect(loadConfig({ env: { BAY_CONFIG: file } }).server.port).toBe(9300);
    expect(loadConfig({ env: {}, cwd: join(file, "..") }).server.port).toBe(9300);
  });

  test("environment values are converted to the schema's types; nested keys use __", () => {
    const config = loadConfig({
      env: { BAY_SECURITY__ALLOW_ANONYMOUS: "true", BAY_DRIVER__DOCKER__PULL_POLICY: "never", BAY_DATA_DIR: "/srv/bay" },
    });
    expect(config.security.allow_anonymous).toBe(true);
    expect((config.driver.docker as { pull_policy: string }).pull_policy).toBe("never");
    expect(config.data_dir).toBe("/srv/bay");
  });

  test("profiles come from YAML; python-default is added unless configured", () => {
    const file = yamlFile(
      "profiles:\n  - id: data\n    image: bay-ds:local\n    capabilities: [python]\n    resources: { cpus: 2, memory: 4g }\n",
    );
    const config = loadConfig({ file, env: {} });
    expect(config.profiles.map((p) => p.id)).toEqual(["python-default", "data"]);
    expect(config.profiles[1]).toMatchObject({ image: "bay-ds:local", capabilities: ["python"], resources: { cpus: 2, memory: "4g" }, idle_timeout: 1800 });
  });

  test("BAY_DEFAULT_IMAGE overrides the built-in profile's image only", () => {
    expect(loadConfig({ env: { BAY_DEFAULT_IMAGE: "bay-python:local" } }).profiles[0]!.image).toBe("bay-python:local");
    const file = yamlFile("profiles:\n  - id: python-default\n    image: mine:1\n");
    expect(loadConfig({ file, env: { BAY_DEFAULT_IMAGE: "other:2" } }).profiles[0]!.image).toBe("mine:1");
  });

  test("BAY_API_KEY adds one admin key for owner default", () => {
    const config = loadConfig({ env: { BAY_API_KEY: "a-long-enough-key-123" } });
    expect(config.security.api_keys).toEqual([{ key: "a-long-enough-key-123", owner: "default", admin: true }]);
  });

  test("a wrong type names the key and the value", () => {
    const error = configErrorOf(() => loadConfig({ env: { BAY_SERVER__PORT: "eighty" } }));
    expect(error.key).toBe("server.port");
    expect(error.message).toContain('"eighty"');
  });

  test("an unknown key is refused by name, in YAML and in the environment", () => {
    expect(configErrorOf(() => loadConfig({ file: yamlFile("server:\n  prot: 1\n"), env: {} })).key).toBe("server.prot");
    expect(configErrorOf(() => loadConfig({ env: { BAY_GC__INTERVALL: "5" } })).key).toBe("gc.intervall");
  });

  test("driver.type is one of the registry's drivers, and the message lists them", () => {
    const error = configErrorOf(() => loadConfig({ env: { BAY_DRIVER__TYPE: "podman" } }));
    expect(error.key).toBe("driver.type");
    expect(error.message).toContain("built in: docker, k8s");
  });

  test("without driver.type the registry's first driver is chosen; loadConfig takes the default from the catalog it is given", () => {
    expect(loadConfig({ env: {} }).driver.type).toBe("docker");
    const catalog = { capabilities: ["python"], driverSettings: { other: Type.Object({ depth: Type.Integer({ default: 3 }) }) }, defaultDriver: "other" };
    const config = loadWithCatalog({ env: {}, cwd: tmpdir() }, catalog);
    expect(config.driver).toEqual({ type: "other", other: { depth: 3 } });
    expect(config.profiles[0]!.capabilities).toEqual(["python"]);
    expect(configErrorOf(() => loadWithCatalog({ env: { BAY_DRIVER__OTHER: "null" }, cwd: tmpdir() }, catalog)).key).toBe("driver.other");
  });

  test("a profile may set any variable but Bay's own one for the agent", () => {
    const own = yamlFile("profiles:\n  - id: p\n    image: i\n    env: { BAY_SHIP_TOKEN: mine }\n");
    expect(configErrorOf(() => loadConfig({ file: own, env: {} })).key).toBe("profiles.0.env.BAY_SHIP_TOKEN");
    const fine = yamlFile("profiles:\n  - id: p\n    image: i\n    env: { BAY_FEATURE: on }\n");
    expect(loadConfig({ file: fine, env: {} }).profiles.find((p) => p.id === "p")!.env).toEqual({ BAY_FEATURE: "on" });
  });

  test("each driver's section is validated against the schema that driver declares", () => {
    expect(configErrorOf(() => loadConfig({ env: { BAY_DRIVER__DOCKER__SOCKETT: "/x" } })).key).toBe("driver.docker.sockett");
    const badMode = configErrorOf(() => loadConfig({ env: { BAY_DRIVER__DOCKER__CONNECT_MODE: "tunnel" } }));
    expect(badMode.key).toBe("driver.docker.connect_mode");
    expect(badMode.message).toContain('"host_port", "container_network", "auto"');
    expect(configErrorOf(() => loadConfig({ env: { BAY_DRIVER__PODMAN__SOCKET: "/x" } })).key).toBe("driver.podman");
  });

  test("out-of-range numbers, duplicate profiles and ambiguous keys are refused", () => {
    expect(configErrorOf(() => loadConfig({ env: { BAY_SERVER__PORT: "70000" } })).key).toBe("server.port");
    const duplicate = yamlFile("profiles:\n  - { id: a, image: x }\n  - { id: a, image: y }\n");
    expect(configErrorOf(() => loadConfig({ file: duplicate, env: {} })).key).toBe("profiles.1.id");
    const bothKeys = yamlFile(`security:\n  api_keys:\n    - { key: a-long-enough-key-123, key_hash: "${"a".repeat(64)}" }\n`);
    expect(configErrorOf(() => loadConfig({ file: bothKeys, env: {} })).key).toBe("security.api_keys.0");
    const badCapability = yamlFile("profiles:\n  - { id: a, image: x, capabilities: [gpu] }\n");
    expect(configErrorOf(() => loadConfig({ file: badCapability, env: {} })).key).toBe("profiles.0.capabilities.0");
    const badNetwork = yamlFile("profiles:\n  - { id: a, image: x, network: host }\n");
    expect(configErrorOf(() => loadConfig({ file: badNetwork, env: {} })).key).toBe("profiles.0.network");
    for (const entry of ["10.0.0.0/33", "example.com", "300.1.1.1:80", "[::1]:80", "a.b:70000"]) {
      const badAllow = yamlFile(`profiles:\n  - { id: a, image: x, network: { allow: ["${entry}"] } }\n`);
      const error = configErrorOf(() => loadConfig({ file: badAllow, env: {} }));
      expect(error.key).toBe("profiles.0.network.allow.0");
      expect(error.message).toContain(entry);
    }
  });

  test("owners and limits: no max TTL, no cargo quota by default; a max TTL is 1 s..10 years", () => {
    const config = loadConfig({ env: {}, cwd: tmpdir() });
    expect(config.security.max_ttl_seconds).toBeNull();
    expect(config.quotas.default).toEqual({ max_sandboxes: 0, max_running_sessions: 0, max_cargos: 0 });
    expect(loadConfig({ env: { BAY_SECURITY__MAX_TTL_SECONDS: "86400" } }).security.max_ttl_seconds).toBe(86400);
    for (const value of ["0", "-1", String(TTL_CEILING_SECONDS + 1), "forever"]) {
      const error = configErrorOf(() => loadConfig({ env: { BAY_SECURITY__MAX_TTL_SECONDS: value } }));
      expect(error.key).toBe("security.max_ttl_seconds");
      expect(error.message).toContain(`an integer 1..${TTL_CEILING_SECONDS} or null`);
    }
  });

  test("no key may name the anonymous owner: the error names the key", () => {
    const file = yamlFile("security:\n  api_keys:\n    - { key: a-long-enough-key-123, owner: alice }\n    - { key: another-long-key-4567, owner: anonymous }\n");
    const error = configErrorOf(() => loadConfig({ file, env: {} }));
    expect(error.key).toBe("security.api_keys.1.owner");
    expect(error.message).toContain('"anonymous" is reserved');
    // Quotas for anonymous callers are fine.
    const quotas = yamlFile("security: { allow_anonymous: true }\nquotas: { owners: { anonymous: { max_sandboxes: 2 } } }\n");
    expect(loadConfig({ file: quotas, env: {} }).quotas.owners.anonymous?.max_sandboxes).toBe(2);
  });

  test("an explicit config file that does not exist, or is not YAML, is an error", () => {
    expect(configErrorOf(() => loadConfig({ file: "/nonexistent/bay.yaml", env: {} })).message).toContain("does not exist");
    expect(configErrorOf(() => loadConfig({ file: yamlFile("server: [unclosed"), env: {} })).message).toContain("not valid YAML");
  });
});

describe("the example configuration", () => {
  test("bay.example.yaml loads and ships a profile on the full image", () => {
    const config = loadConfig({ file: join(import.meta.dir, "../../bay.example.yaml"), env: {} });
    expect(config.profiles.map((profile) => [profile.id, profile.image])).toEqual([
      ["python-default", "bay-python:local"],
      ["data-science", "bay-python-ds:local"],
      ["full", "bay-full:local"],
    ]);
  });
});
