"""Word through UI Automation (pywinauto, UIA backend) and COM (pywin32): the ONLY lam-rl module
that uses Windows-only libraries. It imports them when first used, never at import time, and it
imports nothing from lam-rl, so the same file also runs inside a Windows Agent Arena / OSWorld VM
as a script (``python -c <this file> OP JSON`` through their ``/execute``; ``waa.py``).

    ui = WordUIA()                      # pywinauto.Desktop(backend="uia") + Word.Application
    ui.open_document(r"C:\\...\\task.docx")
    main, *popups = ui.windows()        # pywinauto UIAWrapper objects
    xml = ui.word_open_xml()            # the live document, unsaved (Flat OPC)

``modules`` replaces the imported libraries (``{"pywinauto": ..., "pywinauto.keyboard": ...,
"win32com.client": ...}``): ``simulated.py`` passes look-alikes backed by WordSim so everything
above this module is tested off Windows. In script mode a ``LAMRL_MODULES`` global does the same.
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import json
import os
import re
import sys
import time
import zlib

VIEW_NAMES = {1: "Draft", 2: "Outline", 3: "Print Layout", 6: "Web Layout", 7: "Read Mode"}
"""``WdViewType`` values of ``ActiveWindow.View.Type`` and the names WordSim uses."""
SAVE_FOLDERS = ("Desktop", "Documents", "Downloads", "Pictures")
FORMATS = ("docx", "doc", "pdf", "txt", "rtf", "htm", "html", "xps", "odt")
RESULT, ERROR = "LAMRL-RESULT:", "LAMRL-ERROR:"


class UIAError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class WordUIA:
    """Word's windows, keyboard and document operations. Not thread-safe; the agent serializes calls."""

    def __init__(
        self,
        modules: dict | None = None,
        title_re: str = r" - Word$",
        profile_dir: str | None = None,
        exclude_dir: str | None = None,
    ) -> None:
        self._mods = dict(modules or {})
        self.title_re = re.compile(title_re)
        self.profile_dir = profile_dir or os.environ.get("USERPROFILE") or os.path.expanduser("~")
        self.exclude_dir = os.path.normcase(os.path.abspath(exclude_dir)) if exclude_dir else None
        self._app = None

    # ------------------------------------------------------------------ libraries

    def _mod(self, name: str):
        if name not in self._mods:
            try:
                self._mods[name] = importlib.import_module(name)
            except ImportError as e:
                raise UIAError(
                    "unavailable",
                    f"{name} is not importable ({e}): the Windows agent needs Windows with "
                    "`pip install lam-rl[windows]` (pywinauto, pywin32) and Microsoft Word",
                ) from None
        return self._mods[name]

    def thread_init(self) -> None:
        """Initialize COM (single-threaded apartment) on the calling thread; every later call must
        come from this thread. A no-op with injected (simulated) modules."""
        if "win32com.client" in self._mods:
            return
        with contextlib.suppress(ImportError):  # not Windows: the first real call says what is missing
            importlib.import_module("pythoncom").CoInitialize()

    def word(self):
        """Word's COM Application object (started if it is not running)."""
        if self._app is None:
            client = self._mod("win32com.client")
            try:
                self._app = client.GetActiveObject("Word.Application")
            except Exception:
                try:
                    self._app = client.Dispatch("Word.Application")
                except Exception as e:
                    raise UIAError("unavailable", f"cannot start Word through COM: {e}") from None
            self._app.Visible = True
            self._app.DisplayAlerts = 0  # wdAlertsNone: no "save changes?" prompts from COM calls
        return self._app

    def document(self):
        app = self.word()
        if app.Documents.Count < 1:
            raise UIAError("not_reset", "no document is open in Word: reset the VM")
        return app.ActiveDocument

    # ------------------------------------------------------------------ windows and input

    def windows(self) -> list:
        """Word's main window, then the other top-level windows of its process (menus, galleries)."""
        pwa = self._mod("pywinauto")
        tops = list(pwa.Desktop(backend="uia").windows())
        mains = [w for w in tops if self.title_re.search(w.window_text() or "")]
        if not mains:
            raise UIAError(
                "unavailable", f"no Word window (title matching {self.title_re.pattern!r}) on the desktop"
            )
        try:
            name = self.document().Name
            mains.sort(key=lambda w: name not in (w.window_text() or ""))
        except UIAError:
            pass
        main = mains[0]
        try:
            pid = main.process_id()
            popups = [
                w
                for w in tops
                if w is not main and w.process_id() == pid and not self.title_re.search(w.window_text() or "")
            ]
        except Exception:
            popups = []
        return [main, *popups]

    def send_keys(self, keys: str, pause: float = 0.02) -> None:
        kb = self._mod("pywinauto.keyboard")
        kb.send_keys(keys, pause=pause, with_spaces=True, with_tabs=True, with_newlines=True)

    def capture_png(self) -> bytes:
        import io

        img = self.windows()[0].capture_as_image()
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        return buf.getvalue()

    # ------------------------------------------------------------------ documents

    def close_documents(self) -> None:
        app = self.word()
        for i in range(app.Documents.Count, 0, -1):
            app.Documents(i).Close(SaveChanges=0)  # wdDoNotSaveChanges

    def open_document(self, path: str, timeout_s: float = 60.0) -> None:
        if not os.path.isfile(path):
            raise UIAError("bad_task", f"document {path} does not exist")
        self.close_documents()
        app = self.word()
        doc = app.Documents.Open(FileName=os.path.abspath(path), AddToRecentFiles=False, Visible=True)
        app.WindowState = 1  # wdWindowStateMaximize
        doc.Activate()
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                main = self.windows()[0]
                main.set_focus()
                return
            except UIAError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.25)

    def word_open_xml(self) -> str:
        """The live document as Flat OPC XML (``Document.WordOpenXML``): nothing is saved."""
        return self.document().WordOpenXML

    def select_text(self, text: str) -> None:
        doc = self.document()
        sel = self.word().Selection
        head = text[:255]  # Find's limit
        what = head.replace("^", "^^").replace("\r\n", "^p").replace("\n", "^p")
        for match_case in (True, False):
            sel.HomeKey(Unit=6)  # wdStory
            find = sel.Find
            find.ClearFormatting()
            if find.Execute(FindText=what, MatchCase=match_case, MatchWholeWord=False, Forward=True, Wrap=0):
                if len(text) > len(head):
                    sel.MoveEnd(Unit=1, Count=len(text) - len(head))  # wdCharacter
                return
        del doc
        raise UIAError("not_found", f"text {text[:60]!r} is not in the document")

    def select_table(self, number: int) -> None:
        doc = self.document()
        count = doc.Tables.Count
        if not 1 <= number <= count:
            raise UIAError("not_found", f"there is no table {number} (the document has {count})")
        doc.Tables(number).Select()

    def insert_table(self, rows: int, columns: int) -> None:
        doc = self.document()
        rng = self.word().Selection.Range
        rng.Collapse(0)  # wdCollapseEnd
        doc.Tables.Add(rng, rows, columns)

    def selection_text(self) -> str:
        """The selected text, paragraph marks as newlines ('' for a bare caret)."""
        sel = self.word().Selection
        if sel.Start == sel.End:
            return ""
        return (sel.Text or "").replace("\r\x07", "\t").replace("\r", "\n").rstrip("\n")

    def app_state(self) -> dict:
        app = self.word()
        doc = self.document()
        win = app.ActiveWindow
        out = {"file_name": os.path.splitext(doc.Name)[0]}
        for key, get in (
            ("view", lambda: VIEW_NAMES.get(int(win.View.Type))),
            ("zoom", lambda: int(win.View.Zoom.Percentage)),
            ("ruler", lambda: bool(win.DisplayRulers)),
            ("gridlines", lambda: bool(app.Options.DisplayGridLines)),
            ("nav_pane", lambda: bool(win.DocumentMap)),
        ):
            try:
                value = get()
            except Exception:
                value = None
            if value is not None:
                out[key] = value
        return out

    def saved_files(self, since: float) -> list:
        """Files with a known document extension written under the user's Desktop, Documents,
        Downloads or Pictures (or directly in the profile: 'This PC') since ``since``."""
        out = []
        roots = [(f, os.path.join(self.profile_dir, f)) for f in SAVE_FOLDERS] + [
            ("This PC", self.profile_dir)
        ]
        for folder, root in roots:
            if not os.path.isdir(root):
                continue
            for entry in os.scandir(root):
                if not entry.is_file():
                    continue
                stem, ext = os.path.splitext(entry.name)
                ext = ext[1:].lower()
                if ext not in FORMATS or entry.name.startswith("~$"):
                    continue
                if (
                    self.exclude_dir
                    and os.path.normcase(os.path.dirname(os.path.abspath(entry.path))) == self.exclude_dir
                ):
                    continue
                if entry.stat().st_mtime >= since:
                    out.append({"folder": folder, "name": stem, "format": ext, "path": entry.path})
        return out


# ---------------------------------------------------------------------- script mode (WAA / OSWorld)


def dump(el, depth: int = 0, max_depth: int = 40) -> dict:
    """An element and its subtree as plain data (what ``waa.py`` rebuilds into elements)."""
    info = el.element_info

    def get(fn, default=None):
        try:
            return fn()
        except Exception:
            return default

    r = get(el.rectangle)
    node = {
        "t": get(lambda: info.control_type, "") or "",
        "n": get(lambda: info.name, "") or "",
        "a": get(lambda: info.automation_id, "") or "",
        "c": get(lambda: info.class_name, "") or "",
        "r": [r.left, r.top, r.right, r.bottom] if r is not None else [0, 0, 0, 0],
        "e": bool(get(el.is_enabled, False)),
        "v": bool(get(el.is_visible, False)),
        "x": get(el.window_text, "") or "",
    }
    if depth < max_depth and not (node["t"] == "Document" and depth > 0):
        node["k"] = [dump(c, depth + 1, max_depth) for c in get(el.children, []) or []]
    return node


def locate(ui: WordUIA, path: list, expect: dict | None, root: str = "app"):
    """The element at ``path`` (window index, then child indices), checked against ``expect``.
    ``root="desktop"``: the window index counts all top-level windows (``/accessibility`` order)."""
    wins = list(ui._mod("pywinauto").Desktop(backend="uia").windows()) if root == "desktop" else ui.windows()
    if not path or not 0 <= path[0] < len(wins):
        raise UIAError("unknown_control", f"window {path[:1]} no longer exists")
    el = wins[path[0]]
    for i in path[1:]:
        kids = el.children()
        if not 0 <= i < len(kids):
            raise UIAError("unknown_control", "the control is gone (the window changed): observe again")
        el = kids[i]
    if expect:
        info = el.element_info
        if info.control_type != expect.get("t") or (info.name or "") != expect.get("n", ""):
            raise UIAError(
                "unknown_control",
                f"the control at that place is now {info.control_type} {info.name!r}: observe again",
            )
    return el


def run_op(ui: WordUIA, op: str, args: dict):
    if op == "tree":
        return [dump(w) for w in ui.windows()]
    if op == "act":
        el = locate(ui, args["path"], args.get("expect"), args.get("root", "app"))
        method = args["method"]
        if method not in (
            "click_input",
            "set_edit_text",
            "type_keys",
            "wheel_mouse_input",
            "texts",
            "set_focus",
        ):
            raise UIAError("unknown_function", f"method {method!r} is not allowed")
        if method == "type_keys":
            el.set_focus()
        out = getattr(el, method)(*args.get("args", []), **args.get("kwargs", {}))
        return [str(t) for t in out] if method == "texts" else None
    if op == "send_keys":
        return ui.send_keys(args["keys"])
    if op == "open":
        ui.open_document(args["path"])
        return time.time()
    if op == "close":
        return ui.close_documents()
    if op == "xml":
        return base64.b64encode(zlib.compress(ui.word_open_xml().encode("utf-8"))).decode()
    if op == "select_text":
        return ui.select_text(args["text"])
    if op == "select_table":
        return ui.select_table(int(args["number"]))
    if op == "insert_table":
        return ui.insert_table(int(args["rows"]), int(args["columns"]))
    if op == "app_state":
        return ui.app_state()
    if op == "selection":
        return ui.selection_text()
    if op == "saved_files":
        return ui.saved_files(float(args["since"]))
    if op == "screenshot":
        return base64.b64encode(ui.capture_png()).decode()
    if op == "write_file":
        os.makedirs(os.path.dirname(args["path"]), exist_ok=True)
        with open(args["path"], "ab" if args.get("append") else "wb") as f:
            f.write(base64.b64decode(args["data"]))
        return None
    raise UIAError("unknown_function", f"unknown operation {op!r}")


def main(argv: list, modules: dict | None = None) -> int:
    """``OP JSON_ARGS`` -> one line ``LAMRL-RESULT:<json>`` (or ``LAMRL-ERROR:<json>``) on stdout."""
    try:
        op = argv[0]
        args = json.loads(argv[1]) if len(argv) > 1 else {}
        ui = WordUIA(
            modules,
            args.pop("_title_re", r" - Word$"),
            args.pop("_profile_dir", None),
            args.pop("_exclude_dir", None),
        )
        out = run_op(ui, op, args)
        sys.stdout.write(RESULT + json.dumps(out) + "\n")
        return 0
    except UIAError as e:
        sys.stdout.write(ERROR + json.dumps({"code": e.code, "message": e.message}) + "\n")
    except Exception as e:
        sys.stdout.write(
            ERROR + json.dumps({"code": "action_failed", "message": f"{type(e).__name__}: {e}"}) + "\n"
        )
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], globals().get("LAMRL_MODULES")))
