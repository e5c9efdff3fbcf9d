"""WordSim's state besides the document: what the verifiers see (``AppState``) and the UI (``UIState``)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from lam_rl.env.wordsim.document import Document


class ActionError(Exception):
    """An impossible action: the step fails with ``code`` and the state is left unchanged."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class SavedFile:
    folder: str
    name: str
    format: str  # docx | doc | pdf | txt | rtf | htm


@dataclass
class AppState:
    """Everything a verifier may judge: the document plus Word's application state."""

    doc: Document
    view: str = "Print Layout"
    zoom: int = 100
    ruler: bool = False
    gridlines: bool = False
    nav_pane: bool = False
    file_name: str = "Document1"
    saved: list[SavedFile] = field(default_factory=list)
    printed: list[int] = field(default_factory=list)  # copies per print job
    summaries: list[str] = field(default_factory=list)  # summary(text) answers, in order
    clipboard: Any = None

    def clone(self) -> AppState:
        return AppState(
            doc=self.doc.clone(),
            view=self.view,
            zoom=self.zoom,
            ruler=self.ruler,
            gridlines=self.gridlines,
            nav_pane=self.nav_pane,
            file_name=self.file_name,
            saved=[replace(s) for s in self.saved],
            printed=list(self.printed),
            summaries=list(self.summaries),
            clipboard=self.clipboard,
        )


@dataclass
class DialogState:
    id: str
    page: str | None
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class CommentDraft:
    pid: int
    start: int
    end: int
    text: str = ""


@dataclass
class UIState:
    tab: str = "Home"
    menus: list[str] = field(default_factory=list)  # open menu ids (a submenu after its parent)
    dialog: DialogState | None = None
    message: str | None = None  # a message box over everything
    backstage: str | None = None  # the File tab's open page
    hf: str | None = None  # "header" | "footer" while editing one
    hf_prev_tab: str = "Home"
    comment: CommentDraft | None = None
    note: int | None = None  # index of the footnote being typed
    scroll: int = 0
    form: dict[str, Any] = field(default_factory=dict)  # values typed in ribbon/backstage boxes (Copies)

    def clone(self) -> UIState:
        return UIState(
            tab=self.tab,
            menus=list(self.menus),
            dialog=DialogState(self.dialog.id, self.dialog.page, dict(self.dialog.values))
            if self.dialog
            else None,
            message=self.message,
            backstage=self.backstage,
            hf=self.hf,
            hf_prev_tab=self.hf_prev_tab,
            comment=replace(self.comment) if self.comment else None,
            note=self.note,
            scroll=self.scroll,
            form=dict(self.form),
        )
