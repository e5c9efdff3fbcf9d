"""Drive a Windows Agent Arena (WAA) or OSWorld Windows VM image through its own in-VM server.

Those images run a Flask server in the VM (port 5000) with, among others:

| endpoint | request | answer |
|---|---|---|
| ``GET /probe`` | - | ``{"status": "Probe successful", "message": "Service is operational"}`` |
| ``POST /execute`` (``/setup/execute``) | ``{"command": [...] or "...", "shell": false}`` | ``{"status": "success", "output", "error", "returncode"}``; 500 ``{"status": "error", "message"}`` |
| ``GET /accessibility?backend=uia`` | - | ``{"AT": "<desktop>...</desktop>"}``: every top-level window as XML (pywinauto) |
| ``GET /screenshot`` | - | the screen as PNG |
| ``POST /setup/upload`` | form ``file_path`` + file ``file_data`` | ``"File Uploaded"`` |

**That server runs any command it receives, without authentication.** The adapter is therefore off
by default (``WAAConfig.allow_insecure`` must be set) and meant for VMs on an isolated network. It
runs lam-rl's own UIA code (``uia.py``, the same file the Windows agent imports) inside the VM as
``python -c <uia.py> OP ARGS`` through ``/execute``, so WAA/OSWorld golden images need nothing
installed: the agent on top (``WindowsAgent`` served with lam-rl's token) is unchanged.

    desktop = WAADesktop(WAAConfig(url="http://10.0.0.5:5000", allow_insecure=True))
    agent = WindowsAgent(desktop, name="waa-0")          # lam-rl env serve --agent waa ...

The control tree comes from a UIA dump through ``/execute`` (``tree_source="execute"``: exact control
types) or from ``/accessibility`` (``"accessibility"``: types inferred from pywinauto's wrapper class
names and ``class_types``; pywinauto has no wrapper for TabItem, Document, Hyperlink, DataItem or
Spinner, so those need a class-name entry).
"""

from __future__ import annotations

import base64
import inspect
import json
import re
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx

from lam_rl.env.windows import uia
from lam_rl.env.windows.config import WAAConfig
from lam_rl.env.windows.desktop import Desktop, DesktopError, DesktopUnavailable, SavedFile, UIElement
from lam_rl.env.windows.opc import flat_opc_to_docx

WRAPPER_TYPES = {
    "ButtonWrapper": "Button",
    "EditWrapper": "Edit",
    "ComboBoxWrapper": "ComboBox",
    "TabControlWrapper": "Tab",
    "ListItemWrapper": "ListItem",
    "ListViewWrapper": "List",
    "MenuItemWrapper": "MenuItem",
    "MenuWrapper": "Menu",
    "TreeItemWrapper": "TreeItem",
    "TreeViewWrapper": "Tree",
    "ScrollBarWrapper": "ScrollBar",
    "SliderWrapper": "Slider",
    "ToolbarWrapper": "ToolBar",
    "StaticWrapper": "Text",
    "TooltipWrapper": "ToolTip",
    "HeaderWrapper": "Header",
    "WindowWrapper": "Window",
    "UIAWrapper": "Custom",
}
"""pywinauto UIA wrapper classes (the ``win:class`` of ``/accessibility`` nodes) and their control type."""
CLASS_TYPES = {
    "_WwG": "Document",
    "NetUIRibbonTab": "TabItem",
    "OpusApp": "Window",
    "Net UI Tool Window": "Menu",
}
"""Office window class names whose control type the wrapper class does not tell."""
_NS = {
    "st": "uri:deskat:state.at-spi.gnome.org",
    "cp": "uri:deskat:component.at-spi.gnome.org",
    "win": "uri:deskat:uia.windows.microsoft.org",
}
_PAIR = re.compile(r"\(\s*(-?\d+)\s*,\s*(-?\d+)\s*\)")
_BOOT = (
    "import base64,sys,zlib;exec(compile(zlib.decompress(base64.b64decode('{code}')),'lam_rl_uia','exec'))"
)


def xml_tag(class_name: str) -> str:
    """The element name WAA's ``/accessibility`` gives a node of this window class (lowercase, spaces
    and other non-identifier characters as '-', 'tag' before a leading non-letter)."""
    tag = "".join(
        ch if ch.isidentifier() or ch == "-" or ch.isalnum() else "-"
        for ch in class_name.lower().replace(" ", "-")
    )
    if not tag.strip():
        return "unknown"
    return tag if tag[0].isalpha() else "tag" + tag


def remote_command(python: str, op: str, args: dict[str, Any]) -> list[str]:
    """The ``/execute`` command that runs ``uia.py``'s ``OP`` inside the VM (no lam-rl needed there)."""
    code = base64.b64encode(zlib.compress(inspect.getsource(uia).encode("utf-8"), 9)).decode()
    return [python, "-c", _BOOT.format(code=code), op, json.dumps(args)]


class RemoteElement:
    """A UIA element of the VM's desktop, rebuilt from a dump; actions go back through ``/execute``."""

    def __init__(self, desktop: WAADesktop, node: dict[str, Any], path: list[int], root: str) -> None:
        self._d, self._node, self._path, self._root = desktop, node, path, root
        self.element_info = SimpleNamespace(
            control_type=node.get("t", ""),
            name=node.get("n", ""),
            automation_id=node.get("a", ""),
            class_name=node.get("c", ""),
        )
        self._kids = [RemoteElement(desktop, k, [*path, i], root) for i, k in enumerate(node.get("k", []))]

    def __repr__(self) -> str:
        return f"<RemoteElement {self.element_info.control_type} {self.element_info.name!r} at {self._path}>"

    def window_text(self) -> str:
        return self._node.get("x") or self._node.get("n", "")

    def rectangle(self) -> Any:
        left, top, right, bottom = self._node.get("r", [0, 0, 0, 0])
        return SimpleNamespace(left=left, top=top, right=right, bottom=bottom)

    def is_enabled(self) -> bool:
        return bool(self._node.get("e", False))

    def is_visible(self) -> bool:
        return bool(self._node.get("v", False))

    def children(self) -> list[RemoteElement]:
        return list(self._kids)

    def _act(self, method: str, args: list[Any] | None = None, **kwargs: Any) -> Any:
        expect = {"t": self.element_info.control_type, "n": self.element_info.name}
        if self._root == "desktop":
            expect = {}  # /accessibility types are inferred; the remote check would disagree
        return self._d.op(
            "act",
            {
                "path": self._path,
                "root": self._root,
                "expect": expect,
                "method": method,
                "args": args or [],
                "kwargs": kwargs,
            },
        )

    def click_input(self, button: str = "left", double: bool = False) -> None:
        self._act("click_input", button=button, double=double)

    def set_edit_text(self, text: str) -> None:
        self._act("set_edit_text", [text])

    def type_keys(self, keys: str, pause: float | None = None, with_spaces: bool = False, with_tabs: bool = False,
                  with_newlines: bool = False) -> None:  # fmt: skip
        self._act(
            "type_keys",
            [keys],
            pause=pause,
            with_spaces=with_spaces,
            with_tabs=with_tabs,
            with_newlines=with_newlines,
        )

    def wheel_mouse_input(self, wheel_dist: int = 1) -> None:
        self._act("wheel_mouse_input", wheel_dist=wheel_dist)

    def texts(self) -> list[str]:
        return list(self._act("texts") or [])

    def set_focus(self) -> None:
        """No round trip: ``type_keys`` focuses the element inside the VM first."""


class WAADesktop(Desktop):
    """The ``Desktop`` of a WAA/OSWorld VM, through its in-VM server (see the module docstring)."""

    kind = "waa"

    def __init__(
        self, cfg: WAAConfig, *, client: httpx.Client | None = None, class_types: dict[str, str] | None = None
    ) -> None:
        self.cfg = cfg
        self.client = client or httpx.Client(base_url=cfg.url.rstrip("/"), timeout=cfg.timeout_s)
        self._class_types = {xml_tag(k): v for k, v in {**CLASS_TYPES, **(class_types or {})}.items()}
        self._opened_at: float | None = None
        self.title_re = re.escape(cfg.window_title)

    # ------------------------------------------------------------------ transport

    def _request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            return self.client.request(method, path, **kw)
        except httpx.TimeoutException as e:
            raise DesktopError(
                "timeout", f"{self.cfg.url}{path} did not answer in {self.cfg.timeout_s:g}s: {e}"
            ) from None
        except httpx.HTTPError as e:
            raise DesktopUnavailable(f"cannot reach the WAA/OSWorld server at {self.cfg.url}: {e}") from None

    def probe(self) -> dict[str, Any]:
        r = self._request("GET", "/probe")
        if r.status_code != 200:
            raise DesktopUnavailable(f"{self.cfg.url}/probe answered HTTP {r.status_code}")
        try:
            return dict(r.json())
        except ValueError:
            return {"status": r.text}

    def op(self, op: str, args: dict[str, Any] | None = None) -> Any:
        """Run one ``uia.py`` operation inside the VM through ``/execute``."""
        payload = dict(args or {})
        payload.update(_title_re=self.title_re, _exclude_dir=self.cfg.remote_dir)
        body = {"command": remote_command(self.cfg.python, op, payload), "shell": False}
        r = self._request("POST", "/execute", json=body)
        try:
            data = r.json()
        except ValueError:
            raise DesktopError(
                "action_failed", f"/execute answered HTTP {r.status_code}: {r.text[:200]}"
            ) from None
        if r.status_code != 200 or data.get("status") != "success":
            raise DesktopError("action_failed", f"/execute failed: {data.get('message') or data}")
        for line in reversed((data.get("output") or "").splitlines()):
            if line.startswith(uia.RESULT):
                return json.loads(line[len(uia.RESULT) :])
            if line.startswith(uia.ERROR):
                err = json.loads(line[len(uia.ERROR) :])
                raise DesktopError(err.get("code", "action_failed"), f"in the VM: {err.get('message', '')}")
        stderr = (data.get("error") or "").strip().splitlines()[-3:]
        raise DesktopError(
            "action_failed",
            f"{op} in the VM printed no result (exit {data.get('returncode')}): {' | '.join(stderr) or 'no output'}",
        )

    # ------------------------------------------------------------------ Desktop

    def windows(self) -> list[UIElement]:
        if self.cfg.tree_source == "accessibility":
            return self._accessibility_windows()
        return [RemoteElement(self, node, [i], "app") for i, node in enumerate(self.op("tree"))]

    def _accessibility_windows(self) -> list[UIElement]:
        r = self._request("GET", "/accessibility", params={"backend": "uia"})
        if r.status_code != 200:
            raise DesktopError(
                "action_failed", f"/accessibility answered HTTP {r.status_code}: {r.text[:200]}"
            )
        try:
            root = ET.fromstring(r.json()["AT"])
        except (ValueError, KeyError, ET.ParseError) as e:
            raise DesktopError("action_failed", f"/accessibility returned no parsable tree: {e}") from None
        nodes = [self._xml_node(w) for w in root]
        pattern = re.compile(self.title_re)
        main = [i for i, n in enumerate(nodes) if pattern.search(n["n"])]
        if not main:
            raise DesktopError(
                "unavailable", f"no window titled like {self.cfg.window_title!r} in /accessibility"
            )
        popups = [i for i, n in enumerate(nodes) if i != main[0] and n["t"] == "Menu"]
        return [RemoteElement(self, nodes[i], [i], "desktop") for i in (main[0], *popups)]

    def _xml_node(self, el: ET.Element) -> dict[str, Any]:
        wrapper = (el.get(f"{{{_NS['win']}}}class") or "").rsplit(".", 1)[-1].strip("'>")
        ctype = WRAPPER_TYPES.get(wrapper, "Custom")
        if ctype in ("Custom", "Window", "Text"):  # a generic wrapper: the class name may tell more
            ctype = self._class_types.get(el.tag, ctype)
        xy = _PAIR.search(el.get(f"{{{_NS['cp']}}}screencoord") or "")
        wh = _PAIR.search(el.get(f"{{{_NS['cp']}}}size") or "")
        x, y = (int(xy.group(1)), int(xy.group(2))) if xy else (0, 0)
        w, h = (int(wh.group(1)), int(wh.group(2))) if wh else (0, 0)
        return {
            "t": ctype,
            "n": el.get("name") or "",
            "c": el.tag,
            "r": [x, y, x + w, y + h],
            "e": el.get(f"{{{_NS['st']}}}enabled") == "true",
            "v": el.get(f"{{{_NS['st']}}}visible") == "true",
            "x": (el.text or "").strip() or el.get("name") or "",
            "k": [self._xml_node(c) for c in el],
        }

    def send_keys(self, keys: str) -> None:
        self.op("send_keys", {"keys": keys})

    def open_document(self, path: str) -> None:
        data = Path(path).read_bytes()
        base = self.cfg.remote_dir.rstrip("\\/")
        remote = base + ("/" if base.startswith("/") else "\\") + Path(path).name
        r = self._request(
            "POST", "/setup/upload", data={"file_path": remote}, files={"file_data": (Path(path).name, data)}
        )
        if r.status_code >= 400:  # a server without /setup/upload: write it in chunks through /execute
            chunk = 12_000
            for k in range(0, len(data), chunk):
                part = base64.b64encode(data[k : k + chunk]).decode()
                self.op("write_file", {"path": remote, "data": part, "append": k > 0})
        self._opened_at = self.op("open", {"path": remote})  # the VM's clock, for saved_files

    def export_document(self) -> bytes:
        flat = zlib.decompress(base64.b64decode(self.op("xml"))).decode("utf-8")
        try:
            return flat_opc_to_docx(flat)
        except ValueError as e:
            raise DesktopError("action_failed", f"Word returned an unreadable document: {e}") from None

    def select_text(self, text: str) -> None:
        self.op("select_text", {"text": text})

    def select_table(self, number: int) -> None:
        self.op("select_table", {"number": number})

    def insert_table(self, rows: int, columns: int) -> None:
        self.op("insert_table", {"rows": rows, "columns": columns})

    def screenshot(self) -> bytes:
        r = self._request("GET", "/screenshot")
        if r.status_code != 200 or not r.content.startswith(b"\x89PNG"):
            raise DesktopError("action_failed", f"/screenshot answered HTTP {r.status_code} without a PNG")
        return r.content

    def app_state(self) -> dict[str, Any]:
        return dict(self.op("app_state"))

    def selection_text(self) -> str | None:
        return str(self.op("selection"))

    def saved_files(self, since: float) -> list[SavedFile] | None:
        since_vm = self._opened_at if self._opened_at is not None else since
        return [SavedFile(**f) for f in self.op("saved_files", {"since": since_vm})]

    def close_document(self) -> None:
        self.op("close")

    def close(self) -> None:
        self.client.close()
