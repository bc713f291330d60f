"""JSON-over-HTTP prediction endpoint (stdlib http.server; one model per process)."""
import json
import os
from http.server import BaseHTTPRequestHandler, HTTPServer

from . import __version__
from .model import Model

MODEL = None


class Handler(BaseHTTPRequestHandler):
    def _send(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/healthz":
            return self._send(200, {"status": "ok", "version": __version__})
        self._send(404, {"error": "not found"})

    def do_POST(self):
        if self.path != "/predict":
            return self._send(404, {"error": "not found"})
        length = int(self.headers.get("Content-Length", 0))
        try:
            rows = json.loads(self.rfile.read(length))["instances"]
            proba = MODEL.predict_proba(rows)
        except (KeyError, ValueError) as exc:
            return self._send(400, {"error": str(exc)})
        self._send(200, {"predictions": MODEL.predict(rows), "probabilities": proba.round(4).tolist()})


def main():
    global MODEL
    MODEL = Model()
    port = int(os.environ.get("PORT", "8080"))
    HTTPServer(("0.0.0.0", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
