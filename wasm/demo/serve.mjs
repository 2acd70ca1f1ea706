// Serves the demo page, its callback page and the built package (pkg/web) on
// 127.0.0.1, and tells the page which MCP server to connect to.
//
//   node demo/serve.mjs --mcp-url http://127.0.0.1:PORT/mcp [--port 8080]
//
// Prints the demo's URL alone on the first stdout line.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    "mcp-url": { type: "string" },
    port: { type: "string", default: "0" },
  },
});
if (!values["mcp-url"]) {
  console.error("usage: node demo/serve.mjs --mcp-url <MCP server URL> [--port N]");
  process.exit(2);
}

const roots = [
  ["/pkg/", join(here, "..", "pkg", "web")],
  ["/", here],
];
const types = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".ts": "text/plain; charset=utf-8",
};

const server = createServer(async (req, res) => {
  const path = new URL(req.url, "http://x").pathname;
  if (path === "/config.json") {
    res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
    res.end(JSON.stringify({ serverUrl: values["mcp-url"] }));
    return;
  }
  const file = path === "/" ? "/index.html" : path;
  const [prefix, root] = roots.find(([prefix]) => file.startsWith(prefix));
  const relative = normalize(file.slice(prefix.length));
  if (relative.startsWith("..") || file.endsWith(".mjs")) {
    res.writeHead(404).end();
    return;
  }
  try {
    const body = await readFile(join(root, relative));
    res.writeHead(200, {
      "content-type": types[extname(relative)] ?? "application/octet-stream",
      "cache-control": "no-store",
    });
    res.end(body);
  } catch {
    res.writeHead(404, { "content-type": "text/plain" }).end("not found");
  }
});

server.listen(Number(values.port), "127.0.0.1", () => {
  console.log(`http://127.0.0.1:${server.address().port}/`);
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.close(() => process.exit(0)));
