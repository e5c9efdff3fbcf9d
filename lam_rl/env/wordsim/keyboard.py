"""keyboard_input: typing and Word's common shortcuts, routed to the focused element."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lam_rl.env.wordsim import editing as ed
from lam_rl.env.wordsim.keys import Key

if TYPE_CHECKING:
    from lam_rl.env.protocol import Control
    from lam_rl.env.wordsim.ui import Target

MOVES = ("LEFT", "RIGHT", "UP", "DOWN", "HOME", "END", "PGUP", "PGDN")
SHIFTED = dict(zip("1234567890-=[];',./`", '!@#$%^&*()_+{}:"<>?~', strict=True))

# ctrl(+shift/alt) shortcuts: combo -> (act, arg) run through Commands.run_act
SHORTCUTS: dict[str, tuple[str, Any]] = {
    "ctrl+b": ("toggle", "bold"),
    "ctrl+i": ("toggle", "italic"),
    "ctrl+u": ("toggle", "underline"),
    "ctrl+=": ("toggle", "sub"),
    "ctrl+shift+=": ("toggle", "sup"),
    "ctrl+shift++": ("toggle", "sup"),
    "ctrl+e": ("align", "center"),
    "ctrl+l": ("align", "left"),
    "ctrl+r": ("align", "right"),
    "ctrl+j": ("align", "justify"),
    "ctrl+c": ("cmd", "copy"),
    "ctrl+x": ("cmd", "cut"),
    "ctrl+v": ("cmd", "paste"),
    "ctrl+z": ("cmd", "undo"),
    "ctrl+y": ("cmd", "redo"),
    "ctrl+a": ("cmd", "select_all"),
    "ctrl+s": ("cmd", "save"),
    "ctrl+h": ("dialog", "replace"),
    "ctrl+d": ("dialog", "font"),
    "ctrl+k": ("dialog", "hyperlink"),
    "ctrl+]": ("cmd", "grow_1"),
    "ctrl+[": ("cmd", "shrink_1"),
    "ctrl+shift+.": ("cmd", "grow"),
    "ctrl+shift+>": ("cmd", "grow"),
    "ctrl+shift+,": ("cmd", "shrink"),
    "ctrl+shift+<": ("cmd", "shrink"),
    "ctrl+shift+l": ("cmd", "bullets"),
    "ctrl+1": ("line_spacing", 1.0),
    "ctrl+2": ("line_spacing", 2.0),
    "ctrl+5": ("line_spacing", 1.5),
    "ctrl+alt+1": ("style", "Heading 1"),
    "ctrl+alt+2": ("style", "Heading 2"),
    "ctrl+alt+3": ("style", "Heading 3"),
    "ctrl+shift+n": ("style", "Normal"),
    "ctrl+ ": ("cmd", "clear_char"),
    "ctrl+space": ("cmd", "clear_char"),
    "ctrl+m": ("cmd", "indent"),
    "ctrl+shift+m": ("cmd", "outdent"),
    "ctrl+enter": ("cmd", "page_break"),
    "ctrl+alt+m": ("cmd", "new_comment"),
    "ctrl+shift+e": ("cmd", "track_changes"),
    "ctrl+f": ("show_on", "nav_pane"),
    "ctrl+p": ("backstage", "Print"),
    "f12": ("dialog", "save_as"),
}


class Keyboard:
    """Mixin for WordSim: ``press(keys, hit)``."""

    def press(self, keys: list[Key], hit: tuple[Control, Target] | None) -> Any:
        ui = self.ui
        if ui.message is not None:
            if any(k.key in ("ENTER", "ESC", " ") for k in keys):
                ui.message = None
            return None
        if hit is not None:
            ctrl, tg = hit
            if ctrl.type in ("Edit", "ComboBox", "Spinner") and tg.area not in ("document",):
                return self._type_into_field(ctrl, tg, keys)
            if ctrl.type not in ("Document",) and tg.area in (
                "dialog",
                "menu",
                "ribbon",
                "qat",
                "status",
                "tab",
                "backstage",
                "shape",
                "pane",
            ):
                if any(k.key in ("ENTER", " ") and not (k.ctrl or k.alt) for k in keys):
                    return self.click(ctrl, tg)
                if tg.area == "shape":
                    self.act_shape(tg.index)
                    return self._doc_keys(keys)
                if tg.area in ("dialog",):
                    return self._dialog_keys(keys)
        elif ui.dialog is not None:
            return self._dialog_keys(keys)
        if ui.menus:
            if any(k.key == "ESC" for k in keys):
                ui.menus.pop()
                return None
            ui.menus.clear()
        if ui.backstage is not None:
            if any(k.key == "ESC" for k in keys):
                ui.backstage = None
            return None
        return self._doc_keys(keys)

    # ------------------------------------------------------------------ fields and dialogs

    def _type_into_field(self, ctrl: Control, tg: Target, keys: list[Key]) -> Any:
        text = None  # clicking into a ribbon/dialog box selects its content: typing replaces it
        commit = False
        for k in keys:
            if k.is_char:
                text = (text or "") + (k.key.upper() if k.shift and k.key.isalpha() else k.key)
            elif k.key == "BACKSPACE":
                text = (text if text is not None else self.control_value(ctrl, tg))[:-1]
            elif k.key == "ENTER" and not k.ctrl:
                commit = True
                break
            elif k.key == "ESC":
                if tg.area == "dialog":
                    self._close_dialog()
                return None
        if text is not None:
            self.set_text(ctrl, tg, text)
        if commit and tg.area == "dialog" and self.ui.dialog is not None:
            self._dialog_default()
        return None

    def _dialog_default(self) -> None:
        from lam_rl.env.wordsim.dialogs import DIALOGS, visible_fields

        dlg = self.ui.dialog
        fields = visible_fields(DIALOGS[dlg.id], dlg.page, dlg.values)
        default = next((f for f in fields if f.type == "Button" and f.key in ("ok", "find_next")), None)
        if default is not None:
            self.dialog_click(default)

    def _dialog_keys(self, keys: list[Key]) -> Any:
        from lam_rl.env.wordsim.dialogs import DIALOGS, visible_fields

        dlg = self.ui.dialog
        if dlg is None:
            return None
        if any(k.key == "ESC" for k in keys):
            self._close_dialog()
            return None
        chars = [k for k in keys if k.is_char]
        if chars:
            fields = visible_fields(DIALOGS[dlg.id], dlg.page, dlg.values)
            first = next((f for f in fields if f.type in ("Edit", "ComboBox", "Spinner")), None)
            if first is not None:
                from lam_rl.env.protocol import Control
                from lam_rl.env.wordsim.ui import Target

                c = Control.model_construct(
                    label=0, text=first.name, type=first.type, rect=(0, 0, 0, 0), window=None
                )
                return self._type_into_field(c, Target("dialog", first, DIALOGS[dlg.id].title), keys)
        if any(k.key == "ENTER" for k in keys):
            self._dialog_default()
        return None

    # ------------------------------------------------------------------ the document

    def _doc_keys(self, keys: list[Key]) -> Any:
        buf: list[str] = []

        def flush() -> None:
            if buf:
                self.type_text("".join(buf))
                buf.clear()

        for k in keys:
            if k.is_char:
                ch = k.key
                if k.shift:
                    ch = ch.upper() if ch.isalpha() else SHIFTED.get(ch, ch)
                buf.append(ch)
                continue
            flush()
            if self.ui.dialog is not None or self.ui.message is not None or self.ui.backstage is not None:
                continue  # a shortcut opened a modal view: the remaining keys go nowhere useful
            self._doc_key(k)
        flush()
        return None

    def _doc_key(self, k: Key) -> None:
        ui, doc = self.ui, self.doc
        combo = k.combo
        if combo in SHORTCUTS:
            act, arg = SHORTCUTS[combo]
            if act == "cmd" and arg in ("grow_1", "shrink_1", "clear_char"):
                return getattr(self, f"_key_{arg}")()
            if act == "show_on":
                self.state.nav_pane = True
                return None
            if act == "cmd" and arg == "page_break" and ui.comment is not None:
                return self.cmd_post_comment() if ui.comment.text.strip() else None
            if act == "backstage":
                ui.backstage = arg
                return None
            return self.run_act(act, arg)
        if k.ctrl or k.alt:
            if k.key in MOVES and not k.alt:
                ed.move(doc, k.key, ctrl=True, shift=k.shift)
            return None  # other shortcuts and Alt key tips are not simulated
        key = k.key
        if key == "ESC":
            if ui.comment is not None:
                ui.comment = None
            elif ui.hf is not None:
                self.cmd_close_header()
            ui.note = None
            return None
        if key in MOVES:
            ui.note = None
            if doc.sel.kind != "text" or ui.hf is not None or ui.comment is not None:
                if doc.sel.kind != "text":
                    ed.move(doc, key, shift=k.shift)
                return None
            ed.move(doc, key, shift=k.shift)
            return None
        if key == "TAB":
            return self.type_text("\t")
        if key == "ENTER":
            if ui.comment is not None or ui.hf is not None or ui.note is not None or doc.sel.kind == "shape":
                return self.type_text("\n" if ui.hf is None and ui.comment is None else " ")
            self.mutate()
            ed.split_paragraph(doc)
            return None
        if key in ("BACKSPACE", "DELETE"):
            return self._erase(forward=key == "DELETE")
        return None  # F-keys, Insert: nothing

    def _erase(self, forward: bool) -> None:
        ui, doc = self.ui, self.doc
        if ui.comment is not None:
            ui.comment.text = ui.comment.text[:-1]
            return
        if ui.hf is not None:
            self.mutate()
            setattr(doc, ui.hf, getattr(doc, ui.hf)[:-1])
            return
        if ui.note is not None:
            self.mutate()
            doc.notes[ui.note].text = doc.notes[ui.note].text[:-1]
            return
        self.mutate()
        if forward:
            ed.delete_forward(doc)
        else:
            ed.backspace(doc)

    def _key_grow_1(self) -> None:
        cur = ed.current_fmt(self.doc).get("size") or 11.0
        self.mutate()
        ed.apply_fmt(self.doc, size=min(1638.0, cur + 1))

    def _key_shrink_1(self) -> None:
        cur = ed.current_fmt(self.doc).get("size") or 11.0
        self.mutate()
        ed.apply_fmt(self.doc, size=max(1.0, cur - 1))

    def _key_clear_char(self) -> None:
        self.mutate()
        ed.apply_fmt(
            self.doc,
            bold=None,
            italic=None,
            underline=None,
            strike=None,
            sup=None,
            sub=None,
            font=None,
            size=None,
            color=None,
            highlight=None,
        )
