"""What the VM client puts on the wire: one write per request, the same request http.client sends,
and the same refusals (a URL with spaces, a header value that would split a header)."""

from __future__ import annotations

import http.client
import socket
import threading

import pytest

from lam_rl.env.client import VMClient, VMProtocolError, _Transport

HEADERS = {"Authorization": "Bearer tok", "Content-Type": "application/json"}


class _Server:
    """A loopback HTTP/1.1 server that records each request's bytes and answers ``{}``."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.requests: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._conn, args=(c,), daemon=True).start()

    def _conn(self, c: socket.socket) -> None:
        buf = b""
        with c:
            while True:
                while b"\r\n\r\n" not in buf:
                    chunk = c.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                head, _, rest = buf.partition(b"\r\n\r\n")
                length = next(
                    (int(v) for k, _, v in (ln.partition(b":") for ln in head.split(b"\r\n")[1:])
                     if k.strip().lower() == b"content-length"),
                    0,
                )  # fmt: skip
                while len(rest) < length:
                    rest += c.recv(65536)
                self.requests.append(head + b"\r\n\r\n" + rest[:length])
                buf = rest[length:]
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}")

    def close(self) -> None:
        self.sock.close()


def _parts(raw: bytes) -> tuple[bytes, dict[bytes, bytes], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    line, *fields = head.split(b"\r\n")
    return line, {k.strip().lower(): v.strip() for k, _, v in (f.partition(b":") for f in fields)}, body


class _Counting:
    """A socket that counts its writes (everything else passes through)."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock, self.writes = sock, 0

    def sendall(self, data: bytes) -> None:
        self.writes += 1
        self._sock.sendall(data)

    def send(self, data: bytes) -> int:
        self.writes += 1
        return self._sock.send(data)

    def __getattr__(self, name: str):
        return getattr(self._sock, name)


@pytest.fixture
def server():
    s = _Server()
    yield s
    s.close()


def test_one_write_per_request_and_the_request_http_client_sends(server):
    t = _Transport(f"http://127.0.0.1:{server.port}/vms/wordsim-3", 5)
    cases = [
        ("POST", "/v1/step", b'{"function": "texts"}'),
        ("GET", "/v1/health", None),
        ("POST", "/v1/evaluate", b""),
    ]
    for method, path, body in cases:
        conn = t._connect()
        counting = _Counting(conn.sock)
        conn.sock = counting  # type: ignore[assignment]
        assert t.request(method, path, body, HEADERS, 5) == (200, b"{}")
        assert counting.writes == 1, f"{method} {path}: {counting.writes} writes"
        conn.sock = counting._sock
        ref = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        ref.request(method, "/vms/wordsim-3" + path, body=body, headers=HEADERS)
        assert ref.getresponse().read() == b"{}"
        ref.close()
        ours, theirs = server.requests[-2], server.requests[-1]
        assert _parts(ours) == _parts(theirs)  # same line, headers (order aside) and body
    t.close()


def test_what_http_client_refused_is_still_refused(server):
    bad_url = VMClient(f"http://127.0.0.1:{server.port}/vms/a b", "tok", connect_retries=0)
    with pytest.raises(VMProtocolError, match="InvalidURL"):
        bad_url.health()
    for token in ("a\r\nX-Injected: 1", "a\nb"):
        with pytest.raises(ValueError, match="Invalid header value"):
            VMClient(f"http://127.0.0.1:{server.port}", token, connect_retries=0).health()
    assert not any(b"X-Injected" in r for r in server.requests)
