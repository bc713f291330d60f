import * as http from "http";
import { formatDuration } from "./duration";
import { loadConfig, ttlFor } from "./rules";

const VERSION = "2.1.0";

function selftest(): number {
  const config = loadConfig();
  console.log(`${config.service} ${VERSION} node ${process.versions.node.split(".")[0]}`);
  for (const url of ["/static/app.css", "/api/catalog/42", "/api/cart", "/"]) {
    const rule = ttlFor(config, url);
    console.log(`${url} -> ${rule ? formatDuration(rule.ttlMs) : "none"}`);
  }
  return 0;
}

function serve(): void {
  const config = loadConfig();
  const port = Number(process.env.PORT || 3000);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url || "/", "http://localhost");
    if (url.pathname === "/healthz") {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ status: "ok", version: VERSION }));
      return;
    }
    const target = url.searchParams.get("path") || "/";
    const rule = ttlFor(config, target);
    const seconds = rule ? Math.floor(rule.ttlMs / 1000) : 0;
    res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": `max-age=${seconds}` });
    res.end(JSON.stringify({ path: target, ttl: rule ? rule.raw : null, seconds }));
  });
  server.listen(port, () => console.log(`${config.service} listening on ${port}`));
  const stop = () => server.close(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

if (process.argv.includes("--selftest")) {
  process.exit(selftest());
} else {
  serve();
}
