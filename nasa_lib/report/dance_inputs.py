"""The DANCE evaluator's predictions on its held-out rows, for the predicted-vs-true figure.

The evaluator's metrics file holds only its error per metric, so the figure recomputes the
predictions from the two DVC outputs the DANCE stages wrote for each run:
``artifacts/dance/<run>/dataset.npz`` and ``artifacts/dance/<run>/evaluator.pt``.
"""
from __future__ import annotations

from pathlib import Path

from .inputs import PipelineOutputs


def load_dance_predictions(out: PipelineOutputs, split: str = "test") -> dict | None:
    """``{run: {metric: (true values, predicted values)}}`` for every evaluator run whose data set
    and checkpoint exist; ``None`` when DANCE did not run in this profile."""
    if not out.dance["evaluator"] or out.dance_artifacts is None:
        return None
    from ..dance import METRICS, DanceDataset, load_design_space, load_evaluator
    from ..dance.evaluator import predictions
    result = {}
    for name, src in sorted(out.dance["evaluator"].items()):
        run = name[len("evaluator_"):] if name.startswith("evaluator_") else name
        folder = Path(out.dance_artifacts) / run
        if not (folder / "dataset.npz").exists() or not (folder / "evaluator.pt").exists():
            continue
        evaluator, _, _ = load_evaluator(folder / "evaluator.pt")
        data = DanceDataset.load(folder / "dataset.npz")
        true, pred = predictions(evaluator, data, load_design_space(src.doc["design_space"]), split)
        result[run] = {m: (true[:, i], pred[:, i]) for i, m in enumerate(METRICS)}
    return result or None
