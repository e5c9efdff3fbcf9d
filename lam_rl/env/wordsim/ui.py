"""Which controls WordSim's window shows, where they are, and in what order (UFO's traversal order).

Order: quick access toolbar and search box, the tab row, the open tab's ribbon, header/footer
areas (while editing them), the Document, floating shapes, the scroll bar, the comment card,
the status bar, then an open menu, an open dialog and a message box on top. Backstage (the File
tab) replaces everything with its navigation and page. Labels are 1..n in this order and are
recomputed for every observation, so the same UI state always gives the same labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from lam_rl.env.protocol import Control
from lam_rl.env.wordsim.dialogs import DIALOGS, Field, field_text, visible_fields
from lam_rl.env.wordsim.menus import MENUS
from lam_rl.env.wordsim.ribbon import (
    BACKSTAGE_NAV,
    CB,
    CONTEXTUAL_TABS,
    LI,
    MAIN_TABS,
    RIBBON,
    SP,
    B,
    C,
)

if TYPE_CHECKING:
    from lam_rl.env.wordsim.app import WordSim

W, H = 1280, 800
TITLE_H, TABS_Y, RIBBON_Y, RIBBON_BOTTOM = 32, 32, 60, 150
STATUS_Y = H - 26
PAGE_X0, PAGE_X1, PAGE_Y0 = 250, 1030, RIBBON_BOTTOM + 16
Rect = tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class Target:
    """What a listed control is, for dispatching an action on it."""

    area: str  # qat | search | tab | ribbon | hf | document | shape | scroll | pane | status | menu | dialog | message | backstage
    spec: Any  # ribbon.C or dialogs.Field
    window: str | None = None
    index: int = 0  # shape index, menu depth


def _w(c: C) -> int:
    return c.width or min(140, 12 + 6 * len(c.text))


@cache
def ribbon_layout(tab: str) -> tuple[tuple[C, Rect], ...]:
    """Controls of a ribbon tab with rectangles: groups left to right, columns of three rows."""
    out: list[tuple[C, Rect]] = []
    x = 8
    for _group, controls in RIBBON.get(tab, []):
        for k in range(0, len(controls), 3):
            col = controls[k : k + 3]
            cw = max(_w(c) for c in col)
            for r, c in enumerate(col):
                y = RIBBON_Y + 4 + r * 28
                out.append((c, (x, y, x + _w(c), y + 24)))
            x += cw + 4
        x += 10
    if x > W - 8:  # squeeze to the window width, as Word collapses groups
        f = (W - 16) / x
        out = [(c, (int(r[0] * f), r[1], max(int(r[0] * f) + 8, int(r[2] * f)), r[3])) for c, r in out]
    return tuple(out)


@cache
def tab_layout(tabs: tuple[str, ...]) -> tuple[tuple[str, Rect], ...]:
    out, x = [], 6
    for t in tabs:
        w = 16 + 7 * len(t)
        out.append((t, (x, TABS_Y + 2, x + w, TABS_Y + 26)))
        x += w + 4
    return tuple(out)


QAT = (
    B("AutoSave", "noop"),
    B("Save", "cmd", "save"),
    B("Undo", "cmd", "undo"),
    B("Redo", "cmd", "redo"),
    B("Customize Quick Access Toolbar", "noop"),
)
SEARCH = C("Search", "Edit", "noop")
TAB_RIGHT = (B("Comments", "noop"), C("Editing", "ComboBox", "noop"), B("Share", "noop"))
SCROLLBAR = C("Vertical Scroll Bar", "ScrollBar", "noop")
DOCUMENT = C("Page 1 content", "Document", "document")
BACKSTAGE_PAGES: dict[str, tuple[C, ...]] = {
    "Home": (LI("Blank document"), B("More templates")),
    "New": (LI("Blank document"), LI("Take a tour"), C("Search for online templates", "Edit")),
    "Open": (LI("Recent"), LI("OneDrive - Personal"), LI("This PC"), B("Browse")),
    "Info": (
        C("Title", "Edit", "prop", "title"),
        C("Tags", "Edit", "prop", "tags"),
        C("Comments", "Edit", "prop", "comments"),
        B("Protect Document"),
        B("Inspect Document"),
        B("Manage Document"),
    ),
    "Save As": (
        LI("Recent"),
        LI("OneDrive - Personal"),
        LI("This PC"),
        LI("Add a Place"),
        B("Browse", "dialog", "save_as"),
    ),
    "Print": (
        B("Print", "print"),
        SP("Copies", "field", "copies"),
        CB("Printer", "noop", None, 200),
        CB("Print All Pages", "noop", None, 200),
        CB("Print One Sided", "noop", None, 200),
    ),
    "Share": (B("Share"), B("Email"), B("Present Online")),
    "Export": (
        LI("Create PDF/XPS Document"),
        LI("Change File Type"),
        B("Create PDF/XPS", "dialog", "save_as_pdf"),
    ),
    "Account": (B("Sign in"), CB("Office Theme", "noop", None, 160)),
    "Options": (B("General"), B("Display"), B("Proofing"), B("Save"), B("Advanced")),
}
PANE_COMMENT = (
    C("Comment", "Edit", "comment_text"),
    B("Post comment", "cmd", "post_comment"),
    B("Cancel", "cmd", "cancel_comment"),
)


def visible_tabs(sim: WordSim) -> tuple[str, ...]:
    return MAIN_TABS + tuple(t for t in CONTEXTUAL_TABS if contextual_visible(sim, t))


def contextual_visible(sim: WordSim, tab: str) -> bool:
    kind = sim.doc.sel.kind
    if tab in ("Table Design", "Table Layout"):
        return kind == "table"
    if tab == "Shape Format":
        return kind == "shape"
    if tab == "Header & Footer":
        return sim.ui.hf is not None
    return True


def page_count(sim: WordSim) -> int:
    from lam_rl.env.wordsim.document import Break

    breaks = sum(1 for b in sim.doc.blocks if isinstance(b, Break))
    return 1 + breaks + sim.text_length() // 3200


Entry = tuple[str, str, Rect, "str | None", Target]  # text, type, rect, window, target


@lru_cache(maxsize=256)
def _backstage_entries(page: str) -> tuple[Entry, ...]:
    out: list[Entry] = [
        ("Back", "Button", (8, 40, 180, 70), None, Target("backstage", B("Back", "backstage_back")))
    ]
    for i, name in enumerate(BACKSTAGE_NAV):
        out.append(
            (
                name,
                "ListItem",
                (8, 80 + i * 34, 180, 108 + i * 34),
                None,
                Target("backstage", LI(name, "backstage", name)),
            )
        )
    for i, c in enumerate(BACKSTAGE_PAGES.get(page, ())):
        y = 90 + i * 40
        out.append((c.text, c.type, (240, y, 240 + max(_w(c), 160), y + 30), None, Target("backstage", c)))
    return tuple(out)


@lru_cache(maxsize=256)
def _top_entries(tab: str, tabs: tuple[str, ...]) -> tuple[Entry, ...]:
    """Quick access toolbar, search box, tab row and the open tab's ribbon (static per tab)."""
    out: list[Entry] = []
    x = 8
    for c in QAT:
        out.append((c.text, c.type, (x, 4, x + 26, 28), None, Target("qat", c)))
        x += 30
    out.append((SEARCH.text, SEARCH.type, (440, 4, 840, 28), None, Target("search", SEARCH)))
    for t, r in tab_layout(tabs):
        out.append((t, "TabItem", r, None, Target("tab", C(t, "TabItem", "tab", t))))
    for i, c in enumerate(TAB_RIGHT):
        out.append(
            (
                c.text,
                c.type,
                (1040 + i * 78, TABS_Y + 2, 1110 + i * 78, TABS_Y + 26),
                None,
                Target("ribbon", c),
            )
        )
    for c, r in ribbon_layout(tab):
        out.append((c.text, c.type, r, None, Target("ribbon", c)))
    return tuple(out)


@lru_cache(maxsize=1024)
def _status_entries(texts: tuple[str, ...]) -> tuple[Entry, ...]:
    out: list[Entry] = []
    specs = _status_specs(texts)
    right = specs[STATUS_LEFT:]
    x = 8
    for i, c in enumerate(specs):
        w = _w(c)
        if i == STATUS_LEFT:  # the view buttons and zoom sit at the right end
            x = W - 4 - sum(_w(r) + 6 for r in right)
        out.append((c.text, c.type, (x, STATUS_Y + 2, x + w, H - 2), None, Target("status", c)))
        x += w + 6
    return tuple(out)


STATUS_LEFT = 5


def _status_specs(texts: tuple[str, ...]) -> list[C]:
    pages, words, zoom = texts
    return [
        B(pages, "noop"),
        B(words, "dialog", "word_count"),
        B("Spelling and Grammar Check", "noop"),
        B("English (United States)", "noop"),
        B("Accessibility: Good to go", "noop"),
        B("Focus", "noop"),
        B("Read Mode", "view", "Read Mode"),
        B("Print Layout", "view", "Print Layout"),
        B("Web Layout", "view", "Web Layout"),
        B("Zoom Out", "zoom_step", -10),
        B("Zoom In", "zoom_step", 10),
        B(zoom, "dialog", "zoom"),
    ]


def _hf_entries(page: Rect) -> tuple[Entry, ...]:
    px0, py0, px1, py1 = page
    return (
        (
            "Header -Section 1-",
            "Edit",
            (px0 + 40, py0 + 10, px1 - 40, py0 + 50),
            None,
            Target("hf", C("Header -Section 1-", "Edit", "hf", "header")),
        ),
        (
            "Footer -Section 1-",
            "Edit",
            (px0 + 40, py1 - 50, px1 - 40, py1 - 10),
            None,
            Target("hf", C("Footer -Section 1-", "Edit", "hf", "footer")),
        ),
    )


def status_texts(sim: WordSim) -> tuple[str, str, str]:
    return (f"Page 1 of {page_count(sim)}", f"{sim.word_count()} words", f"{sim.state.zoom}%")


def build_controls(sim: WordSim) -> list[tuple[Control, Target]]:
    """The full control list of the current UI state, labelled 1..n."""
    ui = sim.ui
    entries: list[Entry]
    if ui.backstage is not None:
        entries = list(_backstage_entries(ui.backstage))
    else:
        entries = list(_top_entries(ui.tab, visible_tabs(sim)))
        page = page_rect(sim)
        if ui.hf is not None:
            entries.extend(_hf_entries(page))
        entries.append((DOCUMENT.text, DOCUMENT.type, page, None, Target("document", DOCUMENT)))
        px0, py0 = page[0], page[1]
        for i, sh in enumerate(sim.doc.shapes):
            bx0, by0, bx1, by1 = sh.box
            r = (px0 + bx0, py0 + by0, px0 + bx1, py0 + by1)
            entries.append((sh.name, "Button", r, None, Target("shape", B(sh.name, "shape", i), index=i)))
        entries.append(
            (
                SCROLLBAR.text,
                SCROLLBAR.type,
                (W - 18, RIBBON_BOTTOM, W - 2, STATUS_Y),
                None,
                Target("scroll", SCROLLBAR),
            )
        )
        if ui.comment is not None:
            for c, (y0, y1) in zip(PANE_COMMENT, ((220, 280), (288, 316), (324, 352)), strict=True):
                entries.append((c.text, c.type, (1050, y0, 1250, y1), None, Target("pane", c)))
        entries.extend(_status_entries(status_texts(sim)))
        for depth, mid in enumerate(ui.menus):
            menu = MENUS[mid]
            mx, my = menu_origin(sim, depth)
            cols = menu.columns
            for i, c in enumerate(menu.items):
                col, row = i % cols, i // cols
                x0 = mx + col * 170
                y0 = my + row * 26
                entries.append(
                    (
                        c.text,
                        c.type,
                        (x0, y0, x0 + 166, y0 + 24),
                        menu.title,
                        Target("menu", c, menu.title, depth),
                    )
                )
    if ui.dialog is not None:
        spec = DIALOGS[ui.dialog.id]
        for f, r in dialog_layout(spec, ui.dialog.page, ui.dialog.values):
            entries.append(
                (field_text(f, ui.dialog.values), f.type, r, spec.title, Target("dialog", f, spec.title))
            )
    if ui.message is not None:
        spec = DIALOGS["message"]
        entries.append(
            ("OK", "Button", (600, 430, 680, 456), spec.title, Target("message", spec.fields[0], spec.title))
        )
    return [(fast_control(i + 1, t, ty, r, win), tg) for i, (t, ty, r, win, tg) in enumerate(entries)]


def construct(cls: Any, **values: Any) -> Any:
    """A pydantic model from trusted values without validation (all fields given)."""
    obj = cls.__new__(cls)
    object.__setattr__(obj, "__dict__", values)
    object.__setattr__(obj, "__pydantic_fields_set__", set(values))
    object.__setattr__(obj, "__pydantic_extra__", None)
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj


_CONTROL_FIELDS = frozenset(("label", "text", "type", "rect", "window"))


def fast_control(label: int, text: str, ctype: str, rect: Rect, window: str | None) -> Control:
    """A Control without validation (what ``model_construct`` does, ~10x faster); the values come
    from WordSim's own tables, and tests compare the result with a validated Control."""
    obj = Control.__new__(Control)
    object.__setattr__(
        obj, "__dict__", {"label": label, "text": text, "type": ctype, "rect": rect, "window": window}
    )
    object.__setattr__(obj, "__pydantic_fields_set__", _CONTROL_FIELDS)
    object.__setattr__(obj, "__pydantic_extra__", None)
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj


def page_rect(sim: WordSim) -> Rect:
    landscape = sim.doc.page.orientation == "Landscape"
    x0, x1 = (PAGE_X0 - 120, PAGE_X1 + 120) if landscape else (PAGE_X0, PAGE_X1)
    return x0, PAGE_Y0, x1, STATUS_Y - 8


def menu_origin(sim: WordSim, depth: int) -> tuple[int, int]:
    """Menus open under the ribbon button that opened them (a submenu to the right)."""
    opener = sim.ui.menus[0]
    x = 300
    for c, r in ribbon_layout(sim.ui.tab):
        if c.act == "menu" and c.arg == opener:
            x = r[0]
            break
    x = min(x, W - 360)
    return x + depth * 172, RIBBON_BOTTOM + 2 + depth * 26


def dialog_layout(spec: Any, page: str | None, values: dict[str, Any]) -> list[tuple[Field, Rect]]:
    fields = visible_fields(spec, page, values)
    width = spec.width
    tabs = [f for f in fields if f.type == "TabItem"]
    buttons = [f for f in fields if f.type == "Button"]
    body = [f for f in fields if f.type not in ("TabItem", "Button")]
    height = 70 + 30 * len(body) + 40 + (30 if tabs else 0)
    x0 = (W - width) // 2
    y0 = max(RIBBON_BOTTOM + 10, (H - height) // 2)
    out: list[tuple[Field, Rect]] = []
    y = y0 + 36
    x = x0 + 12
    for f in tabs:
        w = 20 + 7 * len(f.name)
        out.append((f, (x, y, x + w, y + 24)))
        x += w + 4
    if tabs:
        y += 30
    for f in body:
        if f.type in ("RadioButton", "DataItem", "ListItem", "TreeItem"):
            out.append((f, (x0 + 16, y, x0 + width - 16, y + 24)))
        else:
            out.append((f, (x0 + width // 2 - 20, y, x0 + width - 16, y + 24)))
        y += 30
    x = x0 + width - 12
    for f in reversed(buttons):
        w = max(76, 16 + 7 * len(f.name))
        out.append((f, (x - w, y + 8, x, y + 34)))
        x -= w + 8
    order = {id(f): i for i, f in enumerate(fields)}
    out.sort(key=lambda fr: order[id(fr[0])])
    return out


def dialog_box(spec: Any, page: str | None, values: dict[str, Any]) -> Rect:
    fields = visible_fields(spec, page, values)
    tabs = any(f.type == "TabItem" for f in fields)
    body = sum(1 for f in fields if f.type not in ("TabItem", "Button"))
    height = 70 + 30 * body + 40 + (30 if tabs else 0)
    x0 = (W - spec.width) // 2
    y0 = max(RIBBON_BOTTOM + 10, (H - height) // 2)
    return x0, y0, x0 + spec.width, y0 + height
