"""Sharing on the Hugging Face Hub: ``genzoo push SOURCE owner/repo`` writes a repository folder and uploads it.

The folder (``--to-dir`` writes it without uploading)::

    model.safetensors   inference-only weights (``genzoo export``; released weights are copied as they are)
    config.json         the model's name, family and config, the distribution that provides it, the data, the step
    README.md           the model card: YAML metadata (``library_name: genzoo``, tags, license, the ``genzoo eval``
                        figures as ``model-index`` entries) and the text: what it is, how to load it, its figures
                        beside real data, its pictures
    grid.png            samples, reconstructions or translations of held-out faces
    curves.png          the learning curves (when SOURCE is a run)

Uploading goes through huggingface_hub (``create_repo``, ``upload_folder``) with the token of its own login
(``hf auth login``); genzoo never takes a token. ``genzoo.hub`` loads such a repository back by ``hf:owner/repo``.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from genzoo import api
from genzoo._version import __version__
from genzoo.checkpoint import read_header
from genzoo.errors import GenzooError
from genzoo.hub import CARD_FILE, CONFIG_FILE, LIBRARY, WEIGHTS_FILE, HubRef
from genzoo.io import write_json
from genzoo.registry import BUILTIN, ModelEntry, models
from genzoo.release import Figure, figures, picture, show
from genzoo.report.curves import plot_curves
from genzoo.runs import RunDir, WeightsChoice, find_weights

TASKS = {"translate": "image-to-image", "sample": "unconditional-image-generation"}
"""The Hub's task of a model, by its main capability."""


def distribution(entry: ModelEntry) -> str:
    """The pip-installable distribution that provides ``entry``: ``genzoo`` for a built-in model."""
    return "genzoo" if entry.source == BUILTIN else entry.source.split(" ")[0]


def task(entry: ModelEntry) -> str:
    return next((t for c, t in TASKS.items() if c in entry.capabilities), "unconditional-image-generation")


def card_metadata(entry: ModelEntry, repo_id: str, result: Mapping[str, Any] | None, license: str) -> Any:
    """The card's YAML metadata as huggingface_hub's ``ModelCardData``, with ``genzoo eval``'s headline figures as
    ``model-index`` results."""
    from huggingface_hub import EvalResult, ModelCardData

    data = (result or {}).get("data_name") or "cartoon"
    results = [
        EvalResult(
            task_type=task(entry),
            dataset_type=f"genzoo/{data}",
            dataset_name=f"genzoo {data} (held-out)",
            metric_type=f.key,
            metric_name=f.label,
            metric_value=round(f.value, 6),
        )
        for f in figures(result or {})
        if f.value is not None
    ]
    return ModelCardData(
        library_name=LIBRARY,
        license=license,
        tags=["genzoo", entry.family, entry.name, task(entry)],
        pipeline_tag=task(entry),
        model_name=repo_id.split("/")[-1],
        eval_results=results or None,
        genzoo_model=entry.name,
        genzoo_distribution=distribution(entry),
    )


def _figure_table(rows: list[Figure]) -> str:
    lines = ["| figure | this model | real data |", "|---|---:|---:|"]
    lines += [f"| {f.label} | {show(f.value, f.kind)} | {show(f.real, f.kind)} |" for f in rows]
    return "\n".join(lines)


def card_text(
    entry: ModelEntry, repo_id: str, header_step: int, data: Mapping[str, Any] | None, result: Mapping[str, Any] | None,
    pictures: list[str], command: str | None,
) -> str:  # fmt: skip
    """The model card's Markdown, below its metadata."""
    source = f"hf:{repo_id}"
    plugin = distribution(entry)
    install = "pip install genzoo" if plugin == "genzoo" else f"pip install genzoo {plugin}"
    use = {
        "translate": f"genzoo translate {source} face.png --to anime",
        "reconstruct": f"genzoo reconstruct {source} face.png",
        "sample": f"genzoo sample {source} -n 64 --out samples.png",
    }
    commands = [line for capability, line in use.items() if capability in entry.capabilities]
    parts: list[str | None] = [
        f"# {repo_id.split('/')[-1]}",
        "",
        f"A [genzoo](https://pypi.org/project/genzoo/) `{entry.name}` ({entry.family}): {entry.description}",
        "",
        "## Use",
        "",
        "```bash",
        install,
        *commands,
        f"genzoo eval {source}",
        "```",
        "",
        "```python",
        "import genzoo",
        "",
        f'model = genzoo.load("{source}")',
        "```",
        "",
        f"`{entry.name}` is provided by the `{plugin}` distribution; loading works offline once downloaded "
        "(`HF_HUB_OFFLINE=1`).",
        "",
        "## Training",
        "",
        f"- steps: {header_step:,}",
        f"- data: `{data.get('name')}`" + (f" → `{data.get('to')}`" if data.get("to") else "") if data else None,
        f"- reproduce: `{command}`" if command else None,
        f"- genzoo {__version__}",
    ]
    if result:
        parts += [
            "",
            "## `genzoo eval`",
            "",
            f"n = {result.get('n')} images against as many held-out ones, seed {result.get('seed')}; beside each "
            "figure, the same measure of real images.",
            "",
            _figure_table(figures(result)),
        ]
    if pictures:
        parts += ["", "## Pictures", "", *(f"![{name}]({name})" for name in pictures)]
    return "\n".join(line for line in parts if line is not None) + "\n"


def write_folder(
    source: str | Path,
    folder: Path,
    repo_id: str,
    *,
    license: str = "mit",
    n: int = 1000,
    seed: int = 0,
    half: bool = False,
    evaluate: bool = True,
    weights: WeightsChoice = "auto",
) -> Path:
    """Write the Hub repository folder of the weights ``source`` names (see the module's docstring)."""
    HubRef.parse(repo_id)  # the name is checked before anything is written
    found = find_weights(source, weights=weights)
    header, entry = found.header, models.get(found.header.model)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / WEIGHTS_FILE
    if header.inference:
        shutil.copyfile(header.path, target)
    else:
        api.export(header.path, target, half=half)
    card: dict[str, Any] = entry.release.card() if found.origin == "released" and entry.release else {}
    result: dict[str, Any] | None = card.get("eval")
    if result is None and evaluate:
        result = api.evaluate(target, n=n, seed=seed, progress=False)
    data = header.extra.get("data") or {}
    if result is not None:
        result = {**result, "data_name": data.get("name")}
    pictures = []
    with contextlib.suppress(GenzooError):  # the data it was trained on is not here (someone's folder): no picture
        pictures.append(picture(target, folder / "grid.png", seed).name)
    run = RunDir(header.path.parent if header.path.name == "model.safetensors" else header.path.parents[1])
    if run.is_run() and run.read_metrics():
        plot_curves(run.read_metrics(), folder / "curves.png", title=entry.name, entry=entry)
        pictures.append("curves.png")
    write_json(
        folder / CONFIG_FILE,
        {
            "library_name": LIBRARY,
            "model": entry.name,
            "family": entry.family,
            "capabilities": sorted(entry.capabilities),
            "distribution": distribution(entry),
            "config": header.config,
            "data": data,
            "step": header.step,
            "genzoo_version": __version__,
            "eval": result,
        },
    )
    from huggingface_hub import ModelCard

    metadata = card_metadata(entry, repo_id, result, license)
    text = card_text(entry, repo_id, header.step, data, result, pictures, card.get("command"))
    ModelCard(f"---\n{metadata.to_yaml()}\n---\n\n{text}").save(folder / CARD_FILE)
    read_header(target)  # what was written reads back
    return folder


def push(
    source: str | Path,
    repo_id: str,
    *,
    to_dir: str | Path | None = None,
    private: bool = False,
    revision: str | None = None,
    message: str | None = None,
    hf_api: Any = None,
    **options: Any,
) -> str:
    """Write the repository folder of ``source`` and upload it to ``repo_id`` (creating the repository, and the
    branch ``revision``, when missing); with ``to_dir``, only write it there. Returns the commit's URL, or the
    folder. ``options`` go to ``write_folder``; ``hf_api`` stands in for ``huggingface_hub.HfApi()``."""
    if to_dir is not None:
        return str(write_folder(source, Path(to_dir), repo_id, **options))
    from huggingface_hub import HfApi, errors

    hf = hf_api if hf_api is not None else HfApi()
    with tempfile.TemporaryDirectory(prefix="genzoo-push-") as tmp:
        folder = write_folder(source, Path(tmp), repo_id, **options)
        try:
            hf.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
            if revision is not None:
                hf.create_branch(repo_id, branch=revision, exist_ok=True, repo_type="model")
            commit = hf.upload_folder(
                repo_id=repo_id,
                folder_path=str(folder),
                revision=revision,
                commit_message=message or f"Upload {read_header(folder / WEIGHTS_FILE).model} with genzoo",
                repo_type="model",
            )
        except errors.LocalTokenNotFoundError:
            raise GenzooError(
                "Pushing needs a Hugging Face login: run `hf auth login` (genzoo uses huggingface_hub's own token), "
                "then push again. `--to-dir DIR` writes the repository folder without uploading."
            ) from None
        except errors.HfHubHTTPError as exc:
            raise GenzooError(
                f"The Hub refused the upload to {repo_id}: {exc}. Check that you may write to it (your login: "
                f"`hf auth whoami`); `--to-dir DIR` writes the folder without uploading."
            ) from None
        except OSError as exc:
            raise GenzooError(
                f"The Hub could not be reached to push {repo_id} ({exc}). Try again when online; `--to-dir DIR` "
                f"writes the folder without uploading."
            ) from None
    return str(getattr(commit, "commit_url", commit))
