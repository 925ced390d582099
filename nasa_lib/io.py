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
from pathlib import Path

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
