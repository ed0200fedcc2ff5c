"""A webhook receiver for the tests: a real HTTP server process on a loopback port that records
every request it gets (headers and body, one JSON line each, on arrival) and answers as its mode
file says: `ok` (204), `fail` (500, after recording: the sender must try again), `block` (holds
the request until the mode file says something else, then 204).

    python tests/webhooks/receiver.py --port 8123 --log requests.jsonl --mode-file mode
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--mode-file", type=Path, required=True)
    args = parser.parse_args()
    written = threading.Lock()

    def mode() -> str:
        try:
            return args.mode_file.read_text().strip() or "ok"
        except FileNotFoundError:
            return "ok"

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real endpoint would

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            now = mode()
            record = {
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode(),
                "mode": now,
            }
            with written, args.log.open("a") as log:
                log.write(json.dumps(record) + "\n")
            while now == "block":
                time.sleep(0.02)
                now = mode()
            self.send_response(500 if now == "fail" else 204)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
