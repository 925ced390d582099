"""Every file the pipeline's stages write or read, in one table (``dvc.yaml`` declares the same
paths as outs and deps; ``tests/test_stage_deps.py`` holds the two together).  Paths are relative
to the repository root, where DVC runs every stage."""
from __future__ import annotations

SPLITS = "artifacts/data/splits.json"
DATA_METRICS = "reports/metrics/data.json"
DATA_FIGURE = "reports/figures/data_overview.png"

HW_METRICS = "reports/metrics/hw_mapping.json"
HW_FIGURES = {"costs": "reports/figures/hw_costs.png", "breakdown": "reports/figures/hw_energy_breakdown.png",
              "pareto": "reports/figures/hw_accuracy_vs_energy.png", "pareto_edp": "reports/figures/hw_accuracy_vs_edp.png"}

METRICS_DIR = "reports/metrics"
TIMING_DIR = "reports/timing"
ARTIFACTS_DIR = "artifacts"
REPORTS_DIR = "reports"


def supernet(run: str) -> str:
    return f"artifacts/pretrain/{run}/supernet.pt"


def pretrain_metrics(run: str) -> str:
    return f"reports/metrics/pretrain/{run}.json"


def pretrain_figure(run: str) -> str:
    return f"reports/figures/pretrain_{run}.png"


def arch(run: str) -> str:
    return f"artifacts/search/{run}/arch.json"


def alpha_history(run: str) -> str:
    return f"artifacts/search/{run}/alpha_history.json"


def search_metrics(run: str) -> str:
    return f"reports/metrics/search/{run}.json"


def search_figures(run: str) -> tuple[str, str]:
    return f"reports/figures/search_{run}.png", f"reports/figures/search_alpha_{run}.png"


def model(run: str) -> str:
    return f"artifacts/retrain/{run}/model.pt"


def layer_specs(run: str) -> str:
    return f"artifacts/retrain/{run}/layer_specs.json"


def retrain_metrics(run: str) -> str:
    return f"reports/metrics/retrain/{run}.json"


def retrain_figure(run: str) -> str:
    return f"reports/figures/retrain_{run}.png"


def dance_dataset(run: str) -> str:
    return f"artifacts/dance/{run}/dataset.npz"


def dance_evaluator(run: str) -> str:
    return f"artifacts/dance/{run}/evaluator.pt"


def dance_results(run: str) -> str:
    return f"artifacts/dance/{run}/coexplore.json"


def dance_metrics(kind: str, run: str) -> str:
    """``kind``: dataset, evaluator or coexplore."""
    return f"reports/metrics/dance/{kind}_{run}.json"


def dance_figure(kind: str, run: str) -> str:
    """``kind``: dataset, evaluator, coexplore or walltime."""
    return f"reports/figures/dance_{kind}_{run}.png"
