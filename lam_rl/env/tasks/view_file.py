"""View tab (views, ruler/gridlines/navigation pane, zoom) and File tab / backstage (save, export, print, properties)."""

from __future__ import annotations

from typing import Any

from lam_rl.env.tasks.base import Checks, click, family, item, neighbour, set_text, tab
from lam_rl.env.tasks.common import TEXT_TEMPLATES, check_text_intact, doc_field_verifier
from lam_rl.env.wordsim.ribbon import VIEWS
from lam_rl.env.wordsim.state import AppState

MODES = ("Web Layout", "Outline", "Draft")
family(
    name="view_mode",
    tabs=["View"],
    description="Switch the document view (Web Layout, Outline, Draft)",
    templates=TEXT_TEMPLATES,
    phrasings=["Switch to {view} view.", "Show the document in {view}.", "Change the view to {view}."],
    sample=lambda rng, st: {"view": rng.choice(MODES)},
    steps=lambda p: [tab("View"), click(p["view"])],
    verify=doc_field_verifier(lambda s: s.view, lambda p: p["view"], "view"),
    near_miss=lambda p: [tab("View"), click(neighbour(VIEWS, p["view"]))],
    touches=["view:mode"],
    guards=["view:mode"],
)
PANES = {"Ruler": "ruler", "Gridlines": "gridlines", "Navigation Pane": "nav_pane"}


def _pane_verify(p: dict[str, Any], before: AppState, after: AppState, ck: Checks) -> None:
    want = PANES[p["pane"]]
    ck.add(want, getattr(after, want), f"the {p['pane']} is not shown")
    others = [a for a in PANES.values() if a != want and getattr(after, a) != getattr(before, a)]
    ck.add("only_target", not others, f"{', '.join(others)} also changed")


family(
    name="show_pane",
    tabs=["View"],
    description="Show the ruler, the gridlines or the navigation pane",
    templates=TEXT_TEMPLATES,
    phrasings=[
        "Show the {pane_lower}.",
        "Turn on the {pane_lower}.",
        "Display the {pane_lower} from the View tab.",
    ],
    sample=lambda rng, st: {"pane": (x := rng.choice(tuple(PANES))), "pane_lower": x.lower()},
    steps=lambda p: [tab("View"), click(p["pane"])],
    verify=_pane_verify,
    near_miss=lambda p: [tab("View"), click(neighbour(tuple(PANES), p["pane"]))],
    touches=["view:panes"],
    guards=["view:panes"],
)
ZOOMS = ("50", "75", "90", "110", "125", "150", "175")


def _zoom_steps(p: dict[str, Any], pct: str | None = None) -> list[Any]:
    return [tab("View"), click("Zoom"), set_text("Percent", "Spinner", f"{pct or p['pct']}%"), click("OK")]


family(
    name="zoom_level",
    tabs=["View"],
    dialogs=["Zoom"],
    description="Set the zoom level in the Zoom dialog",
    templates=TEXT_TEMPLATES,
    phrasings=[
        "Zoom the document to {pct}%.",
        "Set the zoom level to {pct} percent.",
        "Use the Zoom dialog to view the page at {pct}%.",
    ],
    sample=lambda rng, st: {"pct": rng.choice(ZOOMS)},
    steps=_zoom_steps,
    verify=doc_field_verifier(lambda s: s.zoom, lambda p: int(p["pct"]), "zoom"),
    near_miss=lambda p: _zoom_steps(p, neighbour(ZOOMS, p["pct"])),
    touches=["view:zoom"],
    guards=["view:zoom"],
)
NAMES = (
    "Quarterly summary",
    "Project notes",
    "Meeting minutes",
    "Draft v2",
    "Team plan",
    "Final report",
    "Budget review",
    "Launch brief",
)
FOLDERS = ("Documents", "Desktop")


def _saved_verify(fmt: str):
    def verify(p: dict[str, Any], before: AppState, after: AppState, ck: Checks) -> None:
        check_text_intact(before, after, ck)
        new = after.saved[len(before.saved) :]
        hit = [f for f in new if f.name == p["name"] and f.format == fmt]
        ck.add("saved", bool(hit), f"no {fmt} file named '{p['name']}' was saved")
        ck.add(
            "folder",
            bool(hit) and hit[-1].folder == p.get("folder", "Documents"),
            f"the file is not in {p.get('folder', 'Documents')}",
        )

    return verify


def _save_as_steps(p: dict[str, Any], name: str | None = None) -> list[Any]:
    steps = [tab("File"), item("Save As"), click("Browse")]
    if p["folder"] != "Documents":
        steps.append(click(p["folder"], "TreeItem"))
    return [*steps, set_text("File name", "Edit", name or p["name"]), click("Save")]


family(
    name="save_as",
    tabs=["File"],
    dialogs=["Save As"],
    description="Save the document under a new name (and folder) with Save As",
    templates=TEXT_TEMPLATES,
    phrasings=[
        'Save the document as "{name}" in {folder}.',
        'Use Save As to store this file in {folder} under the name "{name}".',
        'Save a copy named "{name}" to the {folder} folder.',
    ],
    sample=lambda rng, st: {"name": rng.choice(NAMES), "folder": rng.choice(FOLDERS)},
    steps=_save_as_steps,
    verify=_saved_verify("docx"),
    near_miss=lambda p: _save_as_steps(p, p["name"] + "s"),
    touches=["file"],
    guards=["file"],
    last=True,
)


def _pdf_steps(p: dict[str, Any]) -> list[Any]:
    return [
        tab("File"),
        item("Export"),
        click("Create PDF/XPS"),
        set_text("File name", "Edit", p["name"]),
        click("Save"),
    ]


family(
    name="export_pdf",
    tabs=["File"],
    dialogs=["Save As"],
    description="Export the document as a PDF",
    templates=TEXT_TEMPLATES,
    phrasings=[
        'Export the document as a PDF named "{name}".',
        'Save a PDF copy called "{name}".',
        'Create a PDF of this document with the name "{name}".',
    ],
    sample=lambda rng, st: {"name": rng.choice(NAMES), "folder": "Documents"},
    steps=_pdf_steps,
    verify=_saved_verify("pdf"),
    near_miss=lambda p: [
        tab("File"),
        item("Save As"),
        click("Browse"),
        set_text("File name", "Edit", p["name"]),
        click("Save"),
    ],
    touches=["file"],
    guards=["file"],
    last=True,
)
TITLES = (
    "Quarterly Update",
    "Plan for Next Year",
    "Team Handbook",
    "Customer Survey",
    "Release Notes",
    "Weekly Report",
)


def _title_steps(p: dict[str, Any], field: str = "Title") -> list[Any]:
    return [tab("File"), item("Info"), set_text(field, "Edit", p["title"]), click("Back")]


family(
    name="document_title",
    tabs=["File"],
    description="Set the document's Title property on the File > Info page",
    templates=TEXT_TEMPLATES,
    phrasings=[
        'Set the document title property to "{title}".',
        'In File > Info, change the Title to "{title}".',
        'Give the file the title "{title}" in its properties.',
    ],
    sample=lambda rng, st: {"title": rng.choice(TITLES)},
    steps=_title_steps,
    verify=doc_field_verifier(
        lambda s: s.doc.properties.get("title"), lambda p: p["title"], "title_property"
    ),
    near_miss=lambda p: _title_steps(p, "Tags"),
    touches=["properties"],
    guards=["properties"],
)


def _print_verify(p: dict[str, Any], before: AppState, after: AppState, ck: Checks) -> None:
    check_text_intact(before, after, ck)
    jobs = after.printed[len(before.printed) :]
    ck.add(
        "printed", jobs == [int(p["copies"])], f"print jobs {jobs}, expected one job of {p['copies']} copies"
    )


def _print_steps(p: dict[str, Any], copies: str | None = None) -> list[Any]:
    return [tab("File"), item("Print"), set_text("Copies", "Spinner", copies or p["copies"]), click("Print")]


family(
    name="print_copies",
    tabs=["File"],
    description="Print a number of copies from the backstage Print page",
    templates=TEXT_TEMPLATES,
    phrasings=[
        "Print {copies} copies of the document.",
        "Send the document to the printer, {copies} copies.",
        "Print the file with {copies} copies.",
    ],
    sample=lambda rng, st: {"copies": str(rng.randint(2, 5))},
    steps=_print_steps,
    verify=_print_verify,
    near_miss=lambda p: _print_steps(p, str(int(p["copies"]) + 1)),
    touches=["printed"],
    guards=["printed"],
    last=True,
)
