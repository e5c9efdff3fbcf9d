"""The report's figures (matplotlib, headless): grouped bars, training curves, before/after strips."""

from __future__ import annotations

import io
import math
from pathlib import Path

from lam_rl.config import ConfigError


class ReportError(ConfigError):
    """The report cannot be written (no run directory, no evaluation results); says what to run."""


def _plt():
    try:
        import matplotlib
    except ImportError:
        raise ReportError(
            "the report's plots need matplotlib, which comes with the cluster extra: pip install 'lam-rl[cluster]'"
        ) from None

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _plt().close(fig)
    return path


def bars(
    path: Path, title: str, groups: list[str], series: dict[str, list[float]], ylabel: str, pct: bool
) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(groups) + 2), 4.0))
    n = max(len(series), 1)
    width = 0.8 / n
    for k, (name, values) in enumerate(series.items()):
        xs = [i + (k - (n - 1) / 2) * width for i in range(len(groups))]
        ys = [100 * v if pct else v for v in values]
        ax.bar(xs, ys, width=width, label=name)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(
        groups, rotation=30 if len(groups) > 6 else 0, ha="right" if len(groups) > 6 else "center"
    )
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if pct:
        ax.set_ylim(0, 105)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, ncol=min(n, 5))
    return _save(fig, path)


def training_plot(path: Path, curves: list[tuple[str, dict[str, tuple[list[int], list[float]]]]]) -> Path:
    plt = _plt()
    cols = min(3, len(curves))
    rows = math.ceil(len(curves) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.0 * cols, 3.4 * rows), squeeze=False)
    for ax in axes.flat[len(curves) :]:
        ax.axis("off")
    for ax, (title, series) in zip(axes.flat, curves, strict=False):
        for key, (xs, ys) in series.items():
            ax.plot(xs, ys, marker="." if len(xs) < 30 else None, label=key)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return _save(fig, path)


def before_after(frames: list[bytes], path: Path, width: int = 560) -> Path:
    """Frames side by side, scaled to ``width`` each (before / after)."""
    from PIL import Image

    imgs = [Image.open(io.BytesIO(f)).convert("RGB") for f in frames]
    scaled = [im.resize((width, round(im.height * width / im.width))) for im in imgs]
    gap = 8
    out = Image.new(
        "RGB", (len(scaled) * width + gap * (len(scaled) - 1), max(i.height for i in scaled)), "white"
    )
    for k, im in enumerate(scaled):
        out.paste(im, (k * (width + gap), 0))
    out.save(path, format="PNG")
    return path
