"""pywinauto's ``type_keys`` syntax, as UFO's ``keyboard_input`` uses it.

``^`` Ctrl, ``+`` Shift, ``%`` Alt apply to the next key or ``( ... )`` group; ``{NAME}`` or
``{NAME n}`` names a key (repeated n times); ``~`` is Enter; ``{+}`` etc. escape the specials.
UFO also writes shortcuts with virtual-key names: ``{VK_CONTROL}c`` means Ctrl+C, and
``{VK_CONTROL down}...{VK_CONTROL up}`` holds the modifier.
"""

from __future__ import annotations

from dataclasses import dataclass

NAMED = {
    "ENTER": "ENTER",
    "VK_RETURN": "ENTER",
    "TAB": "TAB",
    "VK_TAB": "TAB",
    "ESC": "ESC",
    "ESCAPE": "ESC",
    "VK_ESCAPE": "ESC",
    "BACKSPACE": "BACKSPACE",
    "BKSP": "BACKSPACE",
    "BS": "BACKSPACE",
    "VK_BACK": "BACKSPACE",
    "DELETE": "DELETE",
    "DEL": "DELETE",
    "VK_DELETE": "DELETE",
    "HOME": "HOME",
    "VK_HOME": "HOME",
    "END": "END",
    "VK_END": "END",
    "LEFT": "LEFT",
    "VK_LEFT": "LEFT",
    "RIGHT": "RIGHT",
    "VK_RIGHT": "RIGHT",
    "UP": "UP",
    "VK_UP": "UP",
    "DOWN": "DOWN",
    "VK_DOWN": "DOWN",
    "PGUP": "PGUP",
    "PAGEUP": "PGUP",
    "VK_PRIOR": "PGUP",
    "PGDN": "PGDN",
    "PAGEDOWN": "PGDN",
    "VK_NEXT": "PGDN",
    "SPACE": " ",
    "VK_SPACE": " ",
    "INSERT": "INSERT",
    "INS": "INSERT",
    "VK_INSERT": "INSERT",
    **{f"F{i}": f"F{i}" for i in range(1, 13)},
    **{f"VK_F{i}": f"F{i}" for i in range(1, 13)},
}
MODIFIER_VK = {
    "VK_CONTROL": "ctrl",
    "VK_LCONTROL": "ctrl",
    "VK_RCONTROL": "ctrl",
    "VK_SHIFT": "shift",
    "VK_LSHIFT": "shift",
    "VK_RSHIFT": "shift",
    "VK_MENU": "alt",
    "VK_LMENU": "alt",
    "VK_RMENU": "alt",
}
MOD_CHARS = {"^": "ctrl", "+": "shift", "%": "alt"}
MAX_EVENTS = 2000


class KeySyntaxError(ValueError):
    pass


@dataclass(frozen=True)
class Key:
    key: str  # one character, or a NAMED value (ENTER, LEFT, F4, ...)
    ctrl: bool = False
    shift: bool = False
    alt: bool = False

    @property
    def is_char(self) -> bool:
        return len(self.key) == 1 and not (self.ctrl or self.alt)

    @property
    def combo(self) -> str:
        """'ctrl+b', 'ctrl+shift+end', 'enter' ... (lower case)."""
        mods = [m for m, on in (("ctrl", self.ctrl), ("alt", self.alt), ("shift", self.shift)) if on]
        return "+".join([*mods, self.key.lower()])


def parse_keys(keys: str) -> list[Key]:
    """Parse pywinauto key syntax into key events; raise KeySyntaxError on malformed input."""
    if not isinstance(keys, str):
        raise KeySyntaxError("keys must be a string")
    out: list[Key] = []
    held: set[str] = set()
    pending: set[str] = set()
    i, n = 0, len(keys)

    def emit(k: str, mods: set[str]) -> None:
        allm = mods | held
        out.append(Key(k, "ctrl" in allm, "shift" in allm, "alt" in allm))
        if len(out) > MAX_EVENTS:
            raise KeySyntaxError(f"more than {MAX_EVENTS} key events")

    while i < n:
        ch = keys[i]
        if ch in MOD_CHARS:
            pending.add(MOD_CHARS[ch])
            i += 1
            continue
        if ch == "(":
            j = keys.find(")", i + 1)
            if j < 0:
                raise KeySyntaxError(f"unclosed '(' at {i}")
            group = parse_keys(keys[i + 1 : j])
            for k in group:
                emit(
                    k.key,
                    pending | {m for m, on in (("ctrl", k.ctrl), ("shift", k.shift), ("alt", k.alt)) if on},
                )
            pending = set()
            i = j + 1
            continue
        if ch == ")":
            raise KeySyntaxError(f"unmatched ')' at {i}")
        if ch == "{":
            # "{}}" and "{{}" escape braces
            if keys.startswith("{}}", i) or keys.startswith("{{}", i):
                emit(keys[i + 1], pending)
                pending = set()
                i += 3
                continue
            j = keys.find("}", i + 1)
            if j < 0:
                raise KeySyntaxError(f"unclosed '{{' at {i}")
            body = keys[i + 1 : j].strip()
            i = j + 1
            parts = body.split()
            if not parts:
                raise KeySyntaxError("empty {} key")
            name = parts[0].upper() if len(parts[0]) > 1 else parts[0]
            arg = parts[1].lower() if len(parts) > 1 else None
            if len(parts) > 2:
                raise KeySyntaxError(f"bad key spec {{{body}}}")
            if name in MODIFIER_VK:
                mod = MODIFIER_VK[name]
                if arg == "down":
                    held.add(mod)
                elif arg == "up":
                    held.discard(mod)
                elif arg is None:
                    pending.add(mod)
                else:
                    raise KeySyntaxError(f"bad modifier spec {{{body}}}")
                continue
            if len(name) == 1:
                key = name
            elif name in NAMED:
                key = NAMED[name]
            else:
                raise KeySyntaxError(f"unknown key name {{{parts[0]}}}")
            reps = 1
            if arg is not None:
                if arg in ("down", "up"):
                    reps = 1
                elif arg.isdigit() and 0 < int(arg) <= 500:
                    reps = int(arg)
                else:
                    raise KeySyntaxError(f"bad repeat count in {{{body}}}")
            for _ in range(reps):
                emit(key, pending)
            pending = set()
            continue
        if ch == "}":
            raise KeySyntaxError(f"unmatched '}}' at {i}")
        if ch == "~" or ch == "\n":
            emit("ENTER", pending)
        elif ch == "\t":
            emit("TAB", pending)
        else:
            emit(ch, pending)
        pending = set()
        i += 1
    if pending:
        raise KeySyntaxError("a modifier (^ + %) is not followed by a key")
    return out


def escape_text(text: str) -> str:
    """Text typed literally: escape pywinauto's special characters."""
    special = set("+^%~(){}[]")
    return "".join("{" + c + "}" if c in special else c for c in text)
