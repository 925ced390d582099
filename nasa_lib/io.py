"""File helpers at the bottom of the package: atomic writes, and where wall times go.

Every output a stage writes goes through :func:`write_json`, :func:`write_text` or
:func:`save_torch`: a temporary file beside the target, then one rename, so a crash or a bad input
never leaves a half-written file that DVC could take as valid.  Metrics files hold only what the
same parameters reproduce exactly; wall times go to ``reports/timing/...`` beside them
(:func:`timing_path`), so the metrics regenerate byte for byte.
"""
from __future__ import annotations

import json
import os
import pickle
import re
from pathlib import Path

def default_workers() -> int:
    """Worker processes for parallel CPU work: the cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


# history keys that are wall-clock measurements: kept out of metrics files, written to timing files
TIMING_KEYS = ("epoch_seconds", "train_seconds", "train_images_per_s")


def _replace(path: Path, write) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    write(tmp)
    os.replace(tmp, path)
    return path


def write_text(path, text: str) -> str:
    """Write text atomically (temporary file + rename); returns the path as a string."""
    return str(_replace(path, lambda tmp: tmp.write_text(text)))


def write_json(path, obj) -> None:
    """Write JSON atomically, in the suite's one layout (indent 1, numpy scalars as floats)."""
    write_text(path, json.dumps(obj, indent=1, default=float))


def save_torch(path, obj) -> None:
    """``torch.save`` atomically."""
    import torch        # the bottom layer stays importable without PyTorch
    _replace(path, lambda tmp: torch.save(obj, tmp))


def load_torch(path):
    """A tensor file written by :func:`save_torch`, on the CPU, read as data only.

    ``weights_only=True`` rebuilds tensors, dicts, lists, tuples, strings and numbers and refuses
    every other pickled global, so a checkpoint pulled from a shared DVC remote cannot run code
    when it is loaded.  A file holding anything else, or not a weights file at all, is a one-line
    ``ValueError`` naming it and the stage to rerun.
    """
    import torch        # the bottom layer stays importable without PyTorch
    path = Path(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ValueError(f"{path} is missing: run the stage that writes it first") from None
    except pickle.UnpicklingError as err:
        raise ValueError(f"{path} holds something other than tensors and plain data "
                         f"({_refusal_reason(err)}); it was not loaded and nothing in it was run: "
                         f"rerun the stage that writes it") from None
    except Exception as err:     # truncated zip, foreign format, ...: whatever torch raises
        first_line = (str(err).strip().splitlines() or [""])[0][:200]
        raise ValueError(f"{path} is not a plain weights file ({type(err).__name__}: {first_line}); "
                         f"nothing in it was run: rerun the stage that writes it") from None


def _refusal_reason(err: Exception) -> str:
    """The useful part of PyTorch's several-paragraph weights-only refusal, on one line."""
    text = str(err)
    refused = re.search(r"GLOBAL ([\w.]+)", text)
    if refused:
        return f"refused global {refused.group(1)}"
    # torch's message: a paragraph of advice, then the unpickler's own reason, then a docs link
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]
    reason = paragraphs[1] if len(paragraphs) > 1 else (paragraphs[0] if paragraphs else type(err).__name__)
    return reason[:200]


def without_timing(history: list[dict]) -> list[dict]:
    """A training history without its wall times (those go to the timing file)."""
    return [{k: v for k, v in h.items() if k not in TIMING_KEYS} for h in history]


def timing_path(metrics_out) -> Path:
    """``reports/metrics/x/y.json`` -> ``reports/timing/x/y.json``: wall times live beside the
    metrics, never in them (a path without a ``metrics`` folder: ``<its folder>/timing/y.json``)."""
    parts = Path(metrics_out).parts
    if "metrics" in parts:
        i = parts.index("metrics")
        return Path(*parts[:i], "timing", *parts[i + 1:])
    return Path(metrics_out).parent / "timing" / Path(metrics_out).name


def write_timing(metrics_out, wall_s: float, history: list[dict]) -> None:
    """The timing file of a training stage: total wall time and the per-epoch wall-clock keys."""
    write_json(timing_path(metrics_out), {"wall_s": wall_s, **{k: [h.get(k) for h in history] for k in TIMING_KEYS}})


def read_json(path) -> dict:
    """A JSON document; a missing or malformed file is an error naming it and what to rerun."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"{path} is missing: run the stage that writes it first") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON ({err.msg} at line {err.lineno}); rerun its stage") from None
