/** The published SDK's package.json, from the repository's own (version, licence, engines). */
export function sdkManifest(root: { version: string; license?: string }): Record<string, unknown> {
  return {
    name: SDK_PACKAGE_NAME,
    version: root.version,
    description: "The client of Bay, the self-hosted sandbox control plane for AI agents: sandboxes, Python, shell, processes and files over Bay's HTTP API.",
    type: "module",
    exports: { ".": { types: "./index.d.ts", default: "./index.js" } },
    main: "./index.js",
    types: "./index.d.ts",
    files: ["index.js", "index.d.ts", "README.md"],
    engines: { node: ">=20" },
    sideEffects: false,
    ...(root.license ? { license: root.license } : {}),
  };
}

export const SDK_PACKAGE_NAME = "bay-sdk";

export const SDK_README = `# ${SDK_PACKAGE_NAME}

The client of Bay, the self-hosted sandbox control plane
for AI agents. It runs on Node.js 20 and later and on Bun, has no dependencies,
and ships its types.

\`\`\`ts
import { Bay, BayError } from "${SDK_PACKAGE_NAME}";

const bay = new Bay({ url: "http://127.0.0.1:8114", apiKey: process.env.BAY_API_KEY });
const sandbox = await bay.sandboxes.create({ profile: "python-default" });
const result = await bay.python.exec(sandbox.id, { code: "print(6 * 7)" });
console.log(result.output); // 42
for await (const event of bay.shell.stream(sandbox.id, { command: "for i in 1 2 3; do echo $i; sleep 1; done" })) {
  if (event.event === "stdout") process.stdout.write(event.data.text);
}
await bay.files.write(sandbox.id, "notes.txt", "hello");
await bay.sandboxes.delete(sandbox.id);
\`\`\`

Failures are \`BayError\`s with the server's \`code\` (e.g. \`not_found\`,
\`sandbox_expired\`), HTTP \`status\` and \`details\` (\`details.request_id\` names
the request in Bay's logs). Calls that are safe to repeat are retried on
502/503/504; creates carry an Idempotency-Key so their retries are safe too.
`;
