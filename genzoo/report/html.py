"""The run report: one self-contained ``report.html`` in the run directory.

It holds the run's configuration, its learning curves, the grids the run left (samples, reconstructions,
translations, the latest preview), a latent map where the model encodes and the data has attributes, and the
metrics of ``summary.json`` and of an evaluation. Pictures are embedded as base64 data URIs and the styles and the
one small script are inline, so the file opens from disk with no server and no network; a content security policy
forbids anything else. The script marks each picture ``data-loaded="1"`` once it has loaded and shows a warning for
any that cannot be shown.
"""

from __future__ import annotations

import base64
import html
import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from genzoo._version import __version__
from genzoo.errors import GenzooError
from genzoo.io import atomic_write
from genzoo.report.compare import display, flatten, read_eval
from genzoo.report.curves import plot_curves
from genzoo.runs import CURVES_FILE, EVAL_FILE, LATENT_FILE, REPORT_FILE, RunDir, existing_run

PICTURES: tuple[tuple[str, str, str], ...] = (
    (CURVES_FILE, "Learning curves", "The logged loss terms, each point the average of one logging window."),
    ("samples.png", "Samples", "Images drawn from the model with the run's seed."),
    ("reconstructions.png", "Reconstructions", "Held-out images, each row above its reconstructions."),
    (
        "translations.png",
        "Translations",
        "Three rows per direction: the sources, their translations, and the same faces drawn in the target style "
        "where the data is paired (else the translations translated back).",
    ),
    (
        LATENT_FILE,
        "Latent map",
        "Held-out images encoded and laid out in the plane with t-SNE, coloured by the attribute whose values "
        "neighbouring points share most often (above chance).",
    ),
)
"""Files a run may hold: name, heading, caption."""

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d1d1f; line-height: 1.45;
       max-width: 1100px; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin: 0 0 .2rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
h3 { font-size: 1rem; margin-bottom: .3rem; }
.meta, figcaption, .note { color: #555; font-size: .9rem; }
figure { margin: 1rem 0 1.8rem; }
img { max-width: 100%; height: auto; border: 1px solid #ddd; }
img.grid { image-rendering: pixelated; }
table { border-collapse: collapse; font-size: .9rem; margin: .3rem 0 1.2rem; }
th, td { border-bottom: 1px solid #e4e4e4; padding: .2rem .9rem .2rem 0; text-align: left; vertical-align: top; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
code, pre { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: .85rem; }
pre { background: #f5f5f7; padding: .8rem; overflow: auto; }
.warning { background: #fff3cd; border: 1px solid #d9a400; padding: .6rem 1rem; }
"""

SCRIPT = """
(function () {
  var warning = document.getElementById("image-warning");
  var images = Array.prototype.slice.call(document.images);
  var broken = 0;
  function loaded(img) { img.setAttribute("data-loaded", "1"); }
  function failed(img) {
    img.setAttribute("data-loaded", "0");
    broken += 1;
    warning.textContent = broken + " of " + images.length + " pictures in this report could not be shown: the file " +
      "may be damaged. Write it again with `genzoo report RUN`.";
    warning.hidden = false;
  }
  images.forEach(function (img) {
    if (img.complete) { (img.naturalWidth > 0 ? loaded : failed)(img); return; }
    img.addEventListener("load", function () { loaded(img); });
    img.addEventListener("error", function () { failed(img); });
  });
})();
"""

POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"


# ---- HTML ------------------------------------------------------------------------------------------------------------


def table(rows: Mapping[str, Any], heading: str = "value") -> str:
    """A two-column HTML table of dotted keys and their values (numbers right-aligned)."""
    body = "".join(
        f'<tr><td><code>{html.escape(key)}</code></td><td class="{_cell_class(value)}">{html.escape(display(value))}'
        f"</td></tr>"
        for key, value in rows.items()
    )
    return f"<table><thead><tr><th>key</th><th>{html.escape(heading)}</th></tr></thead><tbody>{body}</tbody></table>"


def _cell_class(value: Any) -> str:
    return "number" if isinstance(value, int | float) and not isinstance(value, bool) else "text"


def figure(path: Path, heading: str, caption: str, name: str = "") -> str:
    """A picture file as an ``<img>`` with its bytes inline, under a heading and above a caption ending in ``name``
    (default: the file's name)."""
    from genzoo.images import read_grid  # Pillow: report.html is written where it is loaded anyway

    name = name or path.name
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    kind = "plot" if path.name in {CURVES_FILE, LATENT_FILE} else "grid"  # grids of small images stay sharp
    grid = read_grid(path)
    labels = grid.caption() if grid is not None else ""
    shown = f"<span class='rows'>{html.escape(labels[0].upper() + labels[1:])}.</span> " if labels else ""
    alt = html.escape(f"{heading}: {labels}" if labels else heading)
    return (
        f"<figure><h3>{html.escape(heading)}</h3>"
        f'<img class="{kind}" src="data:image/png;base64,{data}" alt="{alt}">'
        f"<figcaption>{shown}{html.escape(caption)} <code>{html.escape(name)}</code></figcaption></figure>"
    )


def pictures(run: RunDir) -> list[str]:
    """Figures of the pictures the run holds, in a fixed order, the latest preview last."""
    present = [(run.path / name, heading, caption) for name, heading, caption in PICTURES]
    out = [figure(path, heading, caption) for path, heading, caption in present if path.is_file()]
    previews = sorted(run.previews.glob("step-*.png"))
    if previews:
        step = previews[-1].stem.removeprefix("step-").lstrip("0") or "0"
        caption = "The last preview grid written during training."
        name = f"{run.previews.name}/{previews[-1].name}"
        out.append(figure(previews[-1], f"Latest preview (step {step})", caption, name))
    return out


def render(
    run: RunDir,
    config: Mapping[str, Any],
    evaluation: Mapping[str, Any] | None,
    notes: list[str],
) -> str:
    """The whole report as one HTML document."""
    name = html.escape(run.path.name)
    summary = run.read_summary()
    if run.finished:
        status = f"finished, {summary.get('steps', '?')} steps"
    else:
        checkpoints = run.checkpoint_files()
        status = f"not finished (newest checkpoint: {checkpoints[-1].name})" if checkpoints else "not finished"
    parts = [
        f"<h1>{name}</h1>",
        f'<p class="meta">{html.escape(str(config.get("name", "?")))} · {html.escape(status)} · report written '
        f"{time.strftime('%Y-%m-%d %H:%M:%S')} by genzoo {html.escape(__version__)}</p>",
        '<p id="image-warning" class="warning" hidden></p>',
        *(f'<p class="note">{html.escape(note)}</p>' for note in notes),
        "<h2>Pictures</h2>",
        *(pictures(run) or ['<p class="note">The run has no pictures yet.</p>']),
        "<h2>Metrics</h2>",
    ]
    if summary:
        parts += ["<h3>Training (<code>summary.json</code>)</h3>", table(flatten(summary))]
    if evaluation:
        parts += [f"<h3>Evaluation (<code>{EVAL_FILE}</code>)</h3>", table(flatten(evaluation))]
    if not summary and not evaluation:
        parts.append('<p class="note">No metrics yet: the run has not finished.</p>')
    parts += [
        "<h2>Configuration</h2>",
        table(flatten(config)),
        "<details><summary><code>config.json</code></summary>"
        f"<pre>{html.escape(json.dumps(config, indent=2))}</pre></details>",
    ]
    body = "\n".join(parts)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>genzoo report · {name}</title><style>{STYLE}</style></head>\n"
        f"<body>\n{body}\n<script>{SCRIPT}</script>\n</body></html>\n"
    )


def write_report(run_dir: str | Path, evaluation: Mapping[str, Any] | None = None, notes: Sequence[str] = ()) -> Path:
    """Write ``report.html`` into a run directory and return its path.

    ``evaluation`` is an evaluation to show (by default the run's ``eval.json``, when it belongs to the final
    weights); ``notes`` are lines shown under the title (e.g. why there is no latent map).
    """
    run = existing_run(run_dir)
    try:
        config = run.read_config()
    except json.JSONDecodeError as exc:
        raise GenzooError(f"{run.config_file} is not valid JSON ({exc}); the run directory is damaged.") from None
    try:
        metrics_log = run.read_metrics()
    except json.JSONDecodeError:  # a line being written by a run in progress
        metrics_log = []
    if not (run.path / CURVES_FILE).is_file() and metrics_log:
        plot_curves(metrics_log, run.path / CURVES_FILE, title=run.path.name)
    shown = evaluation if evaluation is not None else read_eval(run)
    path = run.path / REPORT_FILE
    atomic_write(path, render(run, config, shown, list(notes)).encode("utf-8"))
    return path
