"""A real HTTP server (werkzeug, threaded) around the app, and a tiny JSON client for tests."""
from __future__ import annotations

import json
import threading
import urllib.error
import urllib.parse
import urllib.request

from werkzeug.serving import make_server


class LiveServer:
    def __init__(self, app):
        self.app = app
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


class Client:
    def __init__(self, base_url: str, token: str | None = None):
        self.base_url, self.token = base_url, token

    def call(self, method: str, path: str, body=None, raw: bytes | None = None, headers=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.base_url + "/api/v1" + urllib.parse.quote(path, safe="/?&=:"), data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                payload = response.read()
                if payload and "json" not in (response.headers.get("Content-Type") or ""):
                    return response.status, payload.decode(errors="replace")  # a download (PDF, CSV): as text
                return response.status, json.loads(payload) if payload else None
        except urllib.error.HTTPError as err:
            payload = err.read()
            err.close()
            return err.code, json.loads(payload) if payload else None

    def get(self, path):
        return self.call("GET", path)

    def post(self, path, body=None):
        return self.call("POST", path, body if body is not None else {})

    def put(self, path, body=None):
        return self.call("PUT", path, body if body is not None else {})

    def delete(self, path):
        return self.call("DELETE", path)

    def login(self, username, password="demo1234") -> "Client":
        status, body = Client(self.base_url).post("/auth/login", {"username": username, "password": password})
        assert status == 200, body
        return Client(self.base_url, body["token"])
