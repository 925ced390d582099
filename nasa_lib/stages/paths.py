"""Every file the pipeline's stages write or read, in one table (``dvc.yaml`` declares the same
paths as outs and deps; ``tests/test_pipeline.py`` holds the two together).  Paths are relative
to the repository root, where DVC runs every stage.

The training stages run once per (run, seed) (``dvc.yaml``'s ``matrix``, ``params.yaml``'s
``seeds``): their files sit in a ``seed<k>`` folder, or carry ``_seed<k>`` in a figure's name.

Each training run's per-epoch metrics are also a DVCLive folder (:mod:`nasa_lib.nas.live`) under
``reports/dvclive/<stage>/``: ``plots/metrics/<name>.tsv`` (one row per epoch; ``dvc plots show``
draws them) and ``metrics.json`` (the last values)."""
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


def supernet(run: str, seed: int) -> str:
    return f"artifacts/pretrain/{run}/seed{seed}/supernet.pt"


def pretrain_metrics(run: str, seed: int) -> str:
    return f"reports/metrics/pretrain/{run}/seed{seed}.json"


def arch(run: str, seed: int) -> str:
    return f"artifacts/search/{run}/seed{seed}/arch.json"


def alpha_history(run: str, seed: int) -> str:
    return f"artifacts/search/{run}/seed{seed}/alpha_history.json"


def search_metrics(run: str, seed: int) -> str:
    return f"reports/metrics/search/{run}/seed{seed}.json"


def search_figures(run: str, seed: int) -> tuple[str, str]:
    return f"reports/figures/search_{run}_seed{seed}.png", f"reports/figures/search_alpha_{run}_seed{seed}.png"


def model(run: str, seed: int) -> str:
    return f"artifacts/retrain/{run}/seed{seed}/model.pt"


def layer_specs(run: str, seed: int) -> str:
    return f"artifacts/retrain/{run}/seed{seed}/layer_specs.json"


def retrain_metrics(run: str, seed: int) -> str:
    return f"reports/metrics/retrain/{run}/seed{seed}.json"


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


# ---- the cost-weight sweep and the random architectures -------------------------------------
# ``hw_weight`` as written in params.yaml (str of the YAML value, as dvc.yaml interpolates it)
def sweep_arch(run: str, hw_weight, seed: int) -> str:
    return f"artifacts/sweep/{run}/hw{hw_weight}/seed{seed}/arch.json"


def sweep_metrics(run: str, hw_weight, seed: int) -> str:
    return f"reports/metrics/sweep/{run}/hw{hw_weight}/seed{seed}.json"


def random_metrics(run: str, draw: int) -> str:
    return f"reports/metrics/random/{run}/draw{draw}.json"


# ---- DVCLive: the training runs' per-epoch metrics ------------------------------------------
DVCLIVE_DIR = "reports/dvclive"
DVCLIVE_PLOTS = "plots/metrics"     # inside a run's folder: <name>.tsv per metric (DVCLive's layout)
DVCLIVE_SUMMARY = "metrics.json"    # inside a run's folder: the last value of each metric


def dvclive(stage: str, run: str, seed: int) -> str:
    """The folder of ``pretrain``, ``search`` or ``retrain`` (a baseline's: ``retrain`` with its name)."""
    return f"{DVCLIVE_DIR}/{stage}/{run}/seed{seed}"


def sweep_dvclive(run: str, hw_weight, seed: int, part: str) -> str:
    """``part``: search or retrain (the sweep stage runs both)."""
    return f"{DVCLIVE_DIR}/sweep/{run}/hw{hw_weight}/seed{seed}/{part}"


def random_dvclive(run: str, draw: int) -> str:
    return f"{DVCLIVE_DIR}/random_arch/{run}/draw{draw}"


def dance_dvclive(run: str) -> str:
    """The evaluator's training (stage ``dance_evaluator``)."""
    return f"{DVCLIVE_DIR}/dance_evaluator/{run}"
