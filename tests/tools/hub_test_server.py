#!/usr/bin/env python3
"""hub_test_server.py - a stand-in for the HuggingFace hub, for winnow's tests only.

Serves ROOT/<owner>/<name>/<file> at /<owner>/<name>/resolve/<revision>/<file> (any
revision) on 127.0.0.1 only, on an ephemeral port written to --port-file once it
listens. Misbehaves on request, to test the client's failure paths:
  --drop REPO        files of REPO larger than 1 KiB: send the full Content-Length, half
                     the bytes, then close the connection
  --redirect REPO    files of REPO answer 302 to /cdn/<owner>/<name>/<file> (as the hub
                     sends large files to its CDN)
  --token REPO:TOKEN REPO answers 401 unless "Authorization: Bearer TOKEN" is sent
  --log FILE         one line per request: "METHOD PATH AUTH" (AUTH: "auth" or "-")
  --max-seconds N    exits after N seconds whatever happens (tests never leave it behind)
Stdlib only; never reaches outside 127.0.0.1.
"""
import argparse
import http.server
import os
import sys
import threading
import urllib.parse


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--drop", action="append", default=[])
    ap.add_argument("--redirect", action="append", default=[])
    ap.add_argument("--token", action="append", default=[])
    ap.add_argument("--log")
    ap.add_argument("--max-seconds", type=float, default=60)
    a = ap.parse_args()
    root = os.path.realpath(a.root)
    tokens = dict(t.split(":", 1) for t in a.token)
    log_lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # quiet: the --log file says what happened
            pass

        def log_request_line(self):
            if not a.log:
                return
            auth = "auth" if self.headers.get("Authorization") else "-"
            with log_lock, open(a.log, "a") as f:
                f.write(f"{self.command} {self.path} {auth}\n")

        def reply(self, code, body=b"", headers=()):
            self.send_response(code)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def serve(self):
            self.log_request_line()
            raw = urllib.parse.urlsplit(self.path).path.lstrip("/").split("/")
            parts = [urllib.parse.unquote(x) for x in raw]
            cdn = parts[:1] == ["cdn"]
            if cdn:
                parts = parts[1:]
                if len(parts) < 3:
                    return self.reply(404, b"Entry not found")
                repo, rel = "/".join(parts[:2]), "/".join(parts[2:])
            else:
                # <owner>/<name>/resolve/<revision>/<file...>; the revision may hold %2F
                if len(parts) < 5 or parts[2] != "resolve":
                    return self.reply(404, b"Not found")
                repo, rel = "/".join(parts[:2]), "/".join(parts[4:])
            if repo in tokens and self.headers.get("Authorization") != "Bearer " + tokens[repo]:
                return self.reply(401, b"Invalid credentials")
            full = os.path.realpath(os.path.join(root, repo, rel))
            if not full.startswith(root + os.sep) or not os.path.isfile(full):
                return self.reply(404, b"Entry not found")
            if repo in a.redirect and not cdn:
                return self.reply(302, headers=[("Location", f"/cdn/{repo}/{rel}")])
            with open(full, "rb") as f:
                data = f.read()
            if repo in a.drop and len(data) > 1024 and self.command == "GET":
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.reply(200, data, [("Content-Type", "application/octet-stream")])

        do_GET = serve
        do_HEAD = serve

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request, client_address):
            # a client that hangs up (as the tests' client does after a dropped file) is no error
            if not isinstance(sys.exc_info()[1], ConnectionError):
                super().handle_error(request, client_address)

    srv = Server(("127.0.0.1", 0), Handler)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, a.port_file)
    threading.Timer(a.max_seconds, lambda: os._exit(0)).start()
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
