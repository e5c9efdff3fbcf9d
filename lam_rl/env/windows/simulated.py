"""A simulated Windows desktop: look-alikes of the pywinauto and Word COM objects that ``uia.py``
uses, backed by WordSim (or by a fixed recorded tree), so the Windows agent runs off Windows.

    modules = simulated_modules()                        # a Word window over a fresh WordSim
    agent = WindowsAgent(PywinautoDesktop(modules=modules))   # the real adapter code, simulated Windows
    modules = static_modules([tree])                      # a recorded UIA tree (JSON), actions logged

``SimElement`` implements the ``UIAWrapper`` methods with pywinauto's names and keyword arguments
(``element_info.control_type/name/automation_id/class_name``, ``window_text()``, ``rectangle()``,
``is_enabled()``, ``is_visible()``, ``children()``, ``click_input()``, ``set_edit_text()``,
``type_keys()``, ``wheel_mouse_input()``, ``texts()``, ``set_focus()``, ``capture_as_image()``).
WordSim's flat control list becomes a UIA-shaped tree: the controls sit in containers of types UFO
does not keep (ToolBar, Pane, Tab, StatusBar), next to decoys it must filter out (Text labels,
invisible and disabled buttons); dialogs are ``Window`` children of the main window and open menus
are separate top-level ``Menu`` windows of the same process, as UI Automation shows Word's popups.
An element acted on after the UI changed raises ``ElementNotAvailable`` (a stale UIA element).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from lam_rl.env.protocol import Action

PID = 4242
AREA_CONTAINERS = {
    "qat": ("ToolBar", "Quick Access Toolbar", "NetUIToolWindow"),
    "search": ("Group", "Search", "NetUIElement"),
    "tab": ("Tab", "Ribbon Tabs", "NetUIPanViewer"),
    "ribbon": ("Pane", "Lower Ribbon", "NetUIRibbonTab"),
    "backstage": ("Pane", "Backstage view", "NetUIHWND"),
    "hf": ("Pane", "Header and Footer", "_WwG"),
    "document": ("Pane", "Page 1", "_WwG"),
    "shape": ("Pane", "Drawing canvas", "_WwG"),
    "scroll": ("Pane", "Vertical Scroll Bar", "NetUIScrollBar"),
    "pane": ("Pane", "Comments", "NetUIHWND"),
    "status": ("StatusBar", "Status Bar", "MsoCommandBar"),
}
LEAF_CLASSES = {"TabItem": "NetUIRibbonTab", "Document": "_WwG"}


class ElementNotEnabled(Exception):
    """pywinauto.base_wrapper.ElementNotEnabled."""


class ElementNotVisible(Exception):
    """pywinauto.base_wrapper.ElementNotVisible."""


class ElementNotAvailable(Exception):
    """The UIA element is gone (the UI was rebuilt): UIA_E_ELEMENTNOTAVAILABLE."""


class SimActionError(Exception):
    """An action Word refused (WordSim's error code in ``code``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


@dataclass
class SimRect:
    left: int
    top: int
    right: int
    bottom: int

    def width(self) -> int:
        return self.right - self.left

    def height(self) -> int:
        return self.bottom - self.top


@dataclass
class SimInfo:
    control_type: str
    name: str
    automation_id: str = ""
    class_name: str = ""
    rectangle: SimRect = field(default_factory=lambda: SimRect(0, 0, 0, 0))
    process_id: int = PID


class SimElement:
    """A UIA element (pywinauto ``UIAWrapper`` look-alike). ``word`` None: a recorded element whose
    actions are only logged in ``calls``."""

    def __init__(
        self,
        info: SimInfo,
        children: list[SimElement] | None = None,
        *,
        enabled: bool = True,
        visible: bool = True,
        value: str = "",
        word: SimWord | None = None,
        label: int | None = None,
    ) -> None:
        self.element_info = info
        self._children = children or []
        self._enabled, self._visible, self._value = enabled, visible, value
        self._word, self._label = word, label
        self._gen = word.generation if word else 0
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __repr__(self) -> str:
        return f"<SimElement {self.element_info.control_type} {self.element_info.name!r}>"

    # properties
    def window_text(self) -> str:
        return self._value or self.element_info.name

    def rectangle(self) -> SimRect:
        return self.element_info.rectangle

    def is_enabled(self) -> bool:
        return self._enabled

    def is_visible(self) -> bool:
        return self._visible

    def is_active(self) -> bool:
        return True

    def process_id(self) -> int:
        return self.element_info.process_id

    def children(self, **criteria: Any) -> list[SimElement]:
        return [c for c in self._children if _matches(c, criteria)]

    def descendants(self, **criteria: Any) -> list[SimElement]:
        out = []
        for c in self._children:
            if _matches(c, criteria):
                out.append(c)
            out.extend(c.descendants(**criteria))
        return out

    # actions
    def _act(self, method: str, function: str, args: dict[str, Any], **logged: Any) -> Any:
        self.calls.append((method, logged))
        if self._word is None:
            return [self.window_text()] if method == "texts" else None
        if not self._visible:
            raise ElementNotVisible(f"{self!r} is not visible")
        if not self._enabled:
            raise ElementNotEnabled(f"{self!r} is not enabled")
        if self._gen != self._word.generation:
            raise ElementNotAvailable(f"{self!r} is no longer available (the UI changed)")
        if self._label is None:
            return None if method != "texts" else [self.window_text()]
        return self._word.act(self._label, function, args)

    def click_input(
        self, button: str = "left", coords: Any = (None, None), double: bool = False, **kw: Any
    ) -> None:
        self._act(
            "click_input", "click_input", {"button": button, "double": double}, button=button, double=double
        )

    def set_edit_text(self, text: str, pos_start: Any = None, pos_end: Any = None) -> None:
        self._act("set_edit_text", "set_edit_text", {"text": text}, text=text)

    def type_keys(self, keys: str, pause: Any = None, with_spaces: bool = False, with_tabs: bool = False,
                  with_newlines: bool = False, **kw: Any) -> None:  # fmt: skip
        self._act("type_keys", "keyboard_input", {"keys": keys, "control_focus": True}, keys=keys,
                  with_spaces=with_spaces)  # fmt: skip

    def wheel_mouse_input(self, coords: Any = (None, None), wheel_dist: int = 1, pressed: str = "") -> None:
        self._act("wheel_mouse_input", "wheel_mouse_input", {"wheel_dist": wheel_dist}, wheel_dist=wheel_dist)

    def texts(self) -> list[str]:
        out = self._act("texts", "texts", {})
        return list(out) if out is not None else []

    def set_focus(self) -> SimElement:
        self.calls.append(("set_focus", {}))
        return self

    def capture_as_image(self) -> Any:
        from PIL import Image

        if self._word is not None:
            from lam_rl.env.wordsim.render import render_png

            return Image.open(io.BytesIO(render_png(self._word.sim)))
        r = self.element_info.rectangle
        return Image.new("RGB", (max(1, r.width()), max(1, r.height())), "white")


def _matches(el: SimElement, criteria: dict[str, Any]) -> bool:
    ct = criteria.get("control_type")
    return ct is None or el.element_info.control_type == ct


# ------------------------------------------------------------------------------ recorded trees


def tree_from_dict(d: dict[str, Any]) -> SimElement:
    """A recorded element tree (keys as pywinauto names them: control_type, name, automation_id,
    class_name, rectangle [l, t, r, b], is_enabled, is_visible, value, children)."""
    r = d.get("rectangle", [0, 0, 0, 0])
    info = SimInfo(d["control_type"], d.get("name", ""), d.get("automation_id", ""), d.get("class_name", ""),
                   SimRect(*r), d.get("process_id", PID))  # fmt: skip
    return SimElement(
        info,
        [tree_from_dict(c) for c in d.get("children", [])],
        enabled=d.get("is_enabled", True),
        visible=d.get("is_visible", True),
        value=d.get("value", ""),
    )


def load_tree(path: str | Path) -> list[SimElement]:
    """The top-level windows of a recorded tree file (one JSON object or a list of them)."""
    data = json.loads(Path(path).read_text())
    return [tree_from_dict(x) for x in (data if isinstance(data, list) else [data])]


def static_modules(windows: list[SimElement]) -> dict[str, Any]:
    """pywinauto look-alikes whose desktop shows ``windows`` (no Word behind them: no COM)."""
    keys: list[str] = []

    class Desktop:
        def __init__(self, backend: str = "uia") -> None:
            assert backend == "uia", "lam-rl uses pywinauto's UIA backend"

        def windows(self) -> list[SimElement]:
            return list(windows)

    keyboard = SimpleNamespace(send_keys=lambda k, **kw: keys.append(k), sent=keys)
    return {"pywinauto": SimpleNamespace(Desktop=Desktop, keyboard=keyboard), "pywinauto.keyboard": keyboard}


# ------------------------------------------------------------------------------ Word over WordSim


class SimWord:
    """The simulated Word: a WordSim session behind a UIA tree and a COM object."""

    def __init__(self, profile_dir: str | Path | None = None) -> None:
        from lam_rl.env.wordsim import WordSim

        self.sim = WordSim("simulated-word", max_steps=0)
        self.generation = 0
        self.opened: str | None = None
        self.profile_dir = Path(profile_dir) if profile_dir else None
        self._tree: tuple[int, list[SimElement]] | None = None
        self._written: set[tuple[str, str, str]] = set()

    def load(self, path: str) -> None:
        from lam_rl.env.windows.docx_read import read_docx
        from lam_rl.env.wordsim.state import AppState, UIState

        state = AppState(read_docx(path).doc, file_name=Path(path).stem)
        sim = self.sim
        sim.state, sim.before, sim.ui = state, state.clone(), UIState()
        sim.steps, sim.undo_stack, sim.redo_stack, sim._undo_step = 0, [], [], -1
        sim._live = None
        sim.version += 1
        self.opened = str(path)
        self.generation += 1

    def close(self) -> None:
        self.opened = None
        self.generation += 1

    def act(self, label: int | None, function: str, args: dict[str, Any]) -> Any:
        if self.opened is None:
            raise SimActionError("not_reset", "no document is open")
        res = self.sim.step(Action(control_label=label, function=function, args=args))
        if not res.ok:
            if res.error_code == "disabled":
                raise ElementNotEnabled(res.error)
            raise SimActionError(res.error_code or "action_failed", res.error or "")
        if function not in ("texts",):
            self.generation += 1
            self._sync_files()
        return res.result

    def _sync_files(self) -> None:
        if self.profile_dir is None:
            return
        for f in self.sim.state.saved:
            key = (f.folder, f.name, f.format)
            if key in self._written:
                continue
            folder = self.profile_dir if f.folder == "This PC" else self.profile_dir / f.folder
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{f.name}.{f.format}").write_bytes(b"simulated")
            self._written.add(key)

    def windows(self) -> list[SimElement]:
        if self.opened is None:
            return []
        if self._tree is None or self._tree[0] != self.generation:
            self._tree = (self.generation, self._build())
        return self._tree[1]

    def _build(self) -> list[SimElement]:
        sim = self.sim
        live = sim._controls()
        g = self.generation
        title = f"{sim.state.file_name} - Word"

        def el(ctype: str, name: str, rect: tuple[int, int, int, int], kids: list[SimElement] | None = None,
               cls: str = "", label: int | None = None, **kw: Any) -> SimElement:  # fmt: skip
            e = SimElement(SimInfo(ctype, name, f"lam{label or 0}", cls, SimRect(*rect)), kids, word=self,
                           label=label, **kw)  # fmt: skip
            e._gen = g
            return e

        def box(kids: list[SimElement]) -> tuple[int, int, int, int]:
            rs = [k.element_info.rectangle for k in kids] or [SimRect(0, 0, 0, 0)]
            return (
                min(r.left for r in rs),
                min(r.top for r in rs),
                max(r.right for r in rs),
                max(r.bottom for r in rs),
            )

        main_kids: list[SimElement] = []
        popups: list[SimElement] = []
        groups: list[tuple[str, str | None, list[SimElement]]] = []
        for ctl, tg in live:
            leaf = el(
                ctl.type,
                ctl.text,
                ctl.rect,
                cls=LEAF_CLASSES.get(ctl.type, f"NetUI{ctl.type}"),
                label=ctl.label,
            )
            key = tg.area if tg.area not in ("menu",) else f"menu{tg.index}"
            if groups and groups[-1][0] == key and groups[-1][1] == ctl.window:
                groups[-1][2].append(leaf)
            else:
                groups.append((key, ctl.window, [leaf]))
        for key, window, kids in groups:
            r = box(kids)
            decoys = [
                el("Text", f"{key} label", (r[0], r[1], r[0] + 10, r[1] + 10)),
                el("Button", "More Commands (hidden)", (r[0], r[1], r[0] + 10, r[1] + 10), visible=False),
                el("Button", "Unavailable command", (r[0], r[1], r[0] + 10, r[1] + 10), enabled=False),
            ]
            if key.startswith("menu"):
                popups.append(el("Menu", window or "Menu", r, [*kids, decoys[0]], cls="Net UI Tool Window"))
            elif key in ("dialog", "message"):
                main_kids.append(
                    el(
                        "Window",
                        window or "Microsoft Word",
                        r,
                        [decoys[0], *kids, decoys[1]],
                        cls="bosa_sdm_msword",
                    )
                )
            else:
                ctype, cname, cls = AREA_CONTAINERS.get(key, ("Pane", key, "NetUIHWND"))
                inner = el("Group", f"{cname} group", r, kids, cls="NetUIChunk") if key == "ribbon" else None
                main_kids.append(
                    el(
                        ctype,
                        cname,
                        r,
                        [decoys[0], *(inner and [inner] or kids), decoys[1], decoys[2]],
                        cls=cls,
                    )
                )
        main = el("Window", title, (0, 0, 1280, 800), main_kids, cls="OpusApp")
        return [main, *popups]


class _Collection:
    def __init__(self, items: Any, count: Any) -> None:
        self._items, self._count = items, count

    def __call__(self, i: int) -> Any:
        return self._items(i)

    @property
    def Count(self) -> int:  # noqa: N802 - COM property name
        return self._count()


class SimDocument:
    def __init__(self, word: SimWord) -> None:
        self._w = word

    @property
    def Name(self) -> str:  # noqa: N802
        return Path(self._w.opened or "Document1").name

    @property
    def FullName(self) -> str:  # noqa: N802
        return self._w.opened or ""

    @property
    def WordOpenXML(self) -> str:  # noqa: N802
        from lam_rl.env.windows.docx_write import docx_bytes
        from lam_rl.env.windows.opc import docx_to_flat_opc

        return docx_to_flat_opc(docx_bytes(self._w.sim.doc))

    @property
    def Tables(self) -> Any:  # noqa: N802
        w = self._w
        tables = _Collection(
            lambda n: SimpleNamespace(Select=lambda: w.act(None, "select_table", {"number": n})),
            lambda: len(w.sim.doc.tables()),
        )
        tables.Add = lambda rng, rows, cols: w.act(None, "insert_table", {"rows": rows, "columns": cols})  # type: ignore[attr-defined]
        return tables

    def Activate(self) -> None:  # noqa: N802
        pass

    def Close(self, SaveChanges: int = 0) -> None:  # noqa: N802, N803
        self._w.close()


class SimWordApp:
    """``Word.Application`` look-alike (the COM members ``uia.WordUIA`` uses)."""

    def __init__(self, word: SimWord) -> None:
        self._w = word
        self.Visible = False
        self.DisplayAlerts = -1
        self.WindowState = 0
        st = lambda: word.sim.state  # noqa: E731
        self.Options = _Props(DisplayGridLines=lambda: st().gridlines)
        view = _Props(Type=lambda: {"Draft": 1, "Outline": 2, "Print Layout": 3, "Web Layout": 6, "Read Mode": 7}[st().view],
                      Zoom=lambda: _Props(Percentage=lambda: st().zoom))  # fmt: skip
        self.ActiveWindow = _Props(
            View=lambda: view, DisplayRulers=lambda: st().ruler, DocumentMap=lambda: st().nav_pane
        )

    @property
    def Documents(self) -> Any:  # noqa: N802
        w = self._w
        docs = _Collection(lambda i: SimDocument(w), lambda: 1 if w.opened else 0)

        def open_(FileName: str, **kw: Any) -> SimDocument:  # noqa: N803
            w.load(FileName)
            return SimDocument(w)

        docs.Open = open_  # type: ignore[attr-defined]
        return docs

    @property
    def ActiveDocument(self) -> SimDocument:  # noqa: N802
        return SimDocument(self._w)

    @property
    def Selection(self) -> Any:  # noqa: N802
        w = self._w

        def execute(FindText: str, MatchCase: bool = False, **kw: Any) -> bool:  # noqa: N803
            text = FindText.replace("^p", "\n").replace("^^", "^")
            try:
                w.act(None, "select_text", {"text": text})
            except SimActionError as e:
                if e.code == "not_found":
                    return False
                raise
            return True

        from lam_rl.env.wordsim.document import selected_text

        find = SimpleNamespace(ClearFormatting=lambda: None, Execute=execute)
        rng = SimpleNamespace(Collapse=lambda d=0: None)
        text = selected_text(w.sim.doc) if w.opened else ""
        return SimpleNamespace(
            HomeKey=lambda Unit=6: None,
            Find=find,
            Range=rng,
            MoveEnd=lambda Unit=1, Count=1: None,
            Start=0,
            End=len(text),
            Text=text.replace("\n", "\r"),
        )


class _Props:
    """COM-style object whose attributes are computed on access."""

    def __init__(self, **getters: Any) -> None:
        self.__dict__["_g"] = getters

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_g"][name]()
        except KeyError:
            raise AttributeError(name) from None


def simulated_modules(word: SimWord | None = None, profile_dir: str | Path | None = None) -> dict[str, Any]:
    """pywinauto, pywinauto.keyboard and win32com.client look-alikes over one simulated Word."""
    w = word or SimWord(profile_dir)
    app = SimWordApp(w)

    class Desktop:
        def __init__(self, backend: str = "uia") -> None:
            assert backend == "uia", "lam-rl uses pywinauto's UIA backend"

        def windows(self) -> list[SimElement]:
            return list(w.windows())

    def send_keys(keys: str, pause: float = 0.05, with_spaces: bool = False, **kw: Any) -> None:
        w.act(None, "keyboard_input", {"keys": keys, "control_focus": False})

    keyboard = SimpleNamespace(send_keys=send_keys)
    client = SimpleNamespace(Dispatch=lambda progid: app, GetActiveObject=lambda progid: app)
    return {
        "pywinauto": SimpleNamespace(Desktop=Desktop, keyboard=keyboard),
        "pywinauto.keyboard": keyboard,
        "win32com.client": client,
        "_word": w,
    }


def simulated_agent(name: str = "simulated-windows", work_dir: str | Path | None = None, **cfg: Any) -> Any:
    """A ``WindowsAgent`` over the real adapter (``PywinautoDesktop``) on a simulated Windows desktop:
    what ``lam-rl env serve --agent windows --simulated`` serves, and what the protocol contract
    tests run against. ``cfg`` sets ``WindowsAgentConfig`` fields (``settle_s`` defaults to 0)."""
    import tempfile

    from lam_rl.env.windows.agent import WindowsAgent
    from lam_rl.env.windows.config import WindowsAgentConfig
    from lam_rl.env.windows.local import PywinautoDesktop

    owned = work_dir is None
    root = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="lam-rl-simwin-"))
    profile, work = root / "profile", root / "work"

    class SimulatedDesktop(PywinautoDesktop):
        kind = "simulated"

        def close(self) -> None:
            if owned:
                import shutil

                shutil.rmtree(root, ignore_errors=True)

    desktop = SimulatedDesktop(
        modules=simulated_modules(profile_dir=profile), profile_dir=str(profile), work_dir=str(work)
    )
    cfg.setdefault("settle_s", 0.0)
    return WindowsAgent(desktop, WindowsAgentConfig(work_dir=str(work), **cfg), name=name)
