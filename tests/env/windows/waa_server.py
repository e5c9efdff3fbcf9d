"""A loopback stand-in for the Windows Agent Arena / OSWorld in-VM server (Flask, port 5000 in those
images) with the same endpoint shapes, over a simulated Windows desktop:

- ``GET /probe`` -> ``{"status": "Probe successful", "message": "Service is operational"}``
- ``POST /execute`` and ``/setup/execute``: ``{"command": [...], "shell": false}`` -> ``{"status":
  "success", "output", "error", "returncode"}`` (500 ``{"status": "error", "message"}`` on failure).
  ``python -c CODE ARGS...`` runs CODE in this process the way the VM's interpreter would (``__name__``
  is ``"__main__"``, ``sys.argv`` is ``["-c", *ARGS]``), with the simulated pywinauto/COM modules
  offered as ``LAMRL_MODULES``; other commands are answered as a failing process.
- ``GET /accessibility?backend=uia`` -> ``{"AT": xml}`` built as the real server's
  ``_create_pywinauto_node`` builds it (tag from the class name, ``name``, ``st:enabled``,
  ``st:visible``, ``cp:screencoord``, ``cp:size``, ``win:class`` = the pywinauto wrapper class).
- ``GET /screenshot`` -> PNG; ``POST /setup/upload`` (form ``file_path`` + file ``file_data``).
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import threading
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from lxml import etree

from lam_rl.env.windows.simulated import simulated_modules

NS = {
    "st": "uri:deskat:state.at-spi.gnome.org",
    "attr": "uri:deskat:attributes.at-spi.gnome.org",
    "cp": "uri:deskat:component.at-spi.gnome.org",
    "win": "uri:deskat:uia.windows.microsoft.org",
}
# pywinauto 0.6.8's UIA wrapper registry (uia_controls.py): control type -> wrapper class
WRAPPERS = {
    "Button": "ButtonWrapper",
    "CheckBox": "ButtonWrapper",
    "RadioButton": "ButtonWrapper",
    "ComboBox": "ComboBoxWrapper",
    "Edit": "EditWrapper",
    "Tab": "TabControlWrapper",
    "DataItem": "ListItemWrapper",
    "ListItem": "ListItemWrapper",
    "TreeItem": "TreeItemWrapper",
    "List": "ListViewWrapper",
    "DataGrid": "ListViewWrapper",
    "Table": "ListViewWrapper",
    "MenuItem": "MenuItemWrapper",
    "Menu": "MenuWrapper",
    "MenuBar": "MenuWrapper",
    "ScrollBar": "ScrollBarWrapper",
    "Slider": "SliderWrapper",
    "ToolBar": "ToolbarWrapper",
    "ToolTip": "TooltipWrapper",
    "Tree": "TreeViewWrapper",
    "Header": "HeaderWrapper",
    "Text": "StaticWrapper",
    "Window": "WindowWrapper",
}
_EXEC_LOCK = threading.Lock()


def _tag(class_name: str) -> str:
    """The real server's node naming: class_name lowered, spaces and odd characters as '-'."""
    name = class_name.lower().replace(" ", "-")
    name = "".join(ch if ch.isidentifier() or ch in {"-"} or ch.isalnum() else "-" for ch in name)
    if name.strip() == "":
        name = "unknown"
    if not name[0].isalpha():
        name = "tag" + name
    return name


def _node(el: Any) -> Any:
    info = el.element_info
    wrapper = WRAPPERS.get(info.control_type, "UIAWrapper")
    module = "uia_controls" if wrapper != "UIAWrapper" else "uiawrapper"
    r = el.rectangle()
    attrs = {
        "name": info.name,
        f"{{{NS['st']}}}enabled": str(el.is_enabled()).lower(),
        f"{{{NS['st']}}}visible": str(el.is_visible()).lower(),
        f"{{{NS['cp']}}}screencoord": f"({r.left:d}, {r.top:d})",
        f"{{{NS['cp']}}}size": f"({r.width():d}, {r.height():d})",
        f"{{{NS['win']}}}class": f"<class 'pywinauto.controls.{module}.{wrapper}'>",
    }
    node = etree.Element(_tag(info.class_name), attrib=attrs, nsmap=NS)
    text = el.window_text()
    if text and text != info.name:
        node.text = text
    for child in el.children():
        node.append(_node(child))
    return node


class FakeWAAServer:
    def __init__(self, root: Path, *, upload: bool = True) -> None:
        self.modules = simulated_modules(profile_dir=root / "profile")
        self.word = self.modules["_word"]
        self.upload = upload
        self.fail_execute = False
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def _send(self, status: int, body: Any, ctype: str = "application/json") -> None:
                raw = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def do_GET(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                server.requests.append(f"GET {url.path}")
                if url.path == "/probe":
                    return self._send(
                        200, {"status": "Probe successful", "message": "Service is operational"}
                    )
                if url.path == "/accessibility":
                    backend = parse_qs(url.query).get("backend", ["win32"])[0]
                    if backend not in {"win32", "uia"}:
                        return self._send(400, b"Invalid backend specified", "text/plain")
                    root = etree.Element("desktop", nsmap=NS)
                    for w in server.modules["pywinauto"].Desktop(backend="uia").windows():
                        root.append(_node(w))
                    return self._send(200, {"AT": etree.tostring(root, encoding="unicode")})
                if url.path == "/screenshot":
                    from lam_rl.env.wordsim.render import render_png

                    return self._send(200, render_png(server.word.sim), "image/png")
                return self._send(404, b"not found", "text/html")

            def do_POST(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                server.requests.append(f"POST {url.path}")
                if url.path in ("/execute", "/setup/execute"):
                    if server.fail_execute:
                        return self._send(500, {"status": "error", "message": "injected failure"})
                    data = json.loads(self._body())
                    return self._send(
                        200, server.execute(data.get("command"), bool(data.get("shell", False)))
                    )
                if url.path == "/setup/upload" and server.upload:
                    fields = _multipart(self.headers.get("Content-Type", ""), self._body())
                    if "file_path" not in fields or "file_data" not in fields:
                        return self._send(400, {"error": "file_path and file_data are required"})
                    Path(fields["file_path"].decode()).write_bytes(fields["file_data"])
                    return self._send(200, b"File Uploaded", "text/html")
                return self._send(404, b"not found", "text/html")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def execute(self, command: Any, shell: bool) -> dict[str, Any]:
        if shell or not isinstance(command, list) or command[:2] != ["python", "-c"] or len(command) < 3:
            return {
                "status": "success",
                "output": "",
                "error": f"{command!r}: not runnable here",
                "returncode": 1,
            }
        out, err = io.StringIO(), io.StringIO()
        rc = 0
        with _EXEC_LOCK, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            old_argv = sys.argv
            sys.argv = ["-c", *command[3:]]
            try:
                exec(command[2], {"__name__": "__main__", "LAMRL_MODULES": self.modules})  # noqa: S102 - the VM's interpreter
            except SystemExit as e:
                rc = int(e.code or 0)
            except Exception as e:  # an uncaught error in the script: a failing process
                err.write(f"Traceback: {type(e).__name__}: {e}\n")
                rc = 1
            finally:
                sys.argv = old_argv
        return {"status": "success", "output": out.getvalue(), "error": err.getvalue(), "returncode": rc}

    def __enter__(self) -> FakeWAAServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def _multipart(content_type: str, body: bytes) -> dict[str, bytes]:
    msg = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    out = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            out[name] = part.get_payload(decode=True) or b""
    return out
