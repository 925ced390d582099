"""DANCE: a differentiable evaluator network and network / accelerator co-exploration.

Public API::

    load_design_space(name_or_path) -> DesignSpace           # "eyeriss_dance", "chunk_dance" or a YAML path
    CostTables(space, layout, design_space, adder_free_ends=3, workers=None)
        .costs(archs, designs) -> {latency_ms, latency_cycles, energy_uj, area_mm2, edp, edap}
        .best_design(arch_idx, cost="edap") -> (design index, metrics)
    generate_dataset(tables, n_archs, designs_per_arch, seed, val_fraction=0.1, test_fraction=0.1) -> DanceDataset
    train_evaluator(dataset, design_space, out_dir, hidden=128, depth=3, epochs=40, ...) -> (Evaluator, report)
    HardwareGenerator(arch_dim, cardinalities, hidden=64)
    CoExploreModule(space, layout, epochs, tables=, evaluator=, cost="edap", lam=1.0, fixed_design=None, ...)
    EvolutionarySearch(tables, score, lam=, ref=, cost=, evaluations=, population=, sample_size=, seed=).run()
    best_design(tables, arch, cost) / joint_optimum(...) / matched_accuracy_comparison(...)
    ASSUMPTIONS: every choice that rests on a recollection of DANCE (or is ours)

Units: latency in ms (and cycles), energy in uJ, area in mm^2, all per image; EDP in uJ*ms,
EDAP in uJ*ms*mm^2.
"""
from .assumptions import ASSUMPTIONS, assumptions_table
from .baselines import (best_design, design_sensitivity, enumerate_architectures, joint_optimum,
                        matched_accuracy_comparison, supernet_accuracy)
from .coexplore import CoExploreModule
from .costtables import COST_UNITS, COSTS, METRICS, CostTables, cost_value
from .dataset import DanceDataset, arch_encoding, generate_dataset, sample_architectures
from .design_space import DesignSpace, Dimension, list_design_spaces, load_design_space, parse_design_space
from .evolution import EvolutionarySearch, evolutionary_search, pair_fitness
from .evaluator import DesignEncoder, Evaluator, load_evaluator, mape, save_evaluator, train_evaluator
from .generator import HardwareGenerator

__all__ = ["ASSUMPTIONS", "assumptions_table", "best_design", "design_sensitivity", "enumerate_architectures",
           "joint_optimum",
           "matched_accuracy_comparison", "supernet_accuracy", "CoExploreModule", "COST_UNITS", "COSTS", "METRICS",
           "CostTables", "cost_value", "DanceDataset", "arch_encoding", "generate_dataset", "sample_architectures",
           "DesignSpace", "Dimension", "list_design_spaces", "load_design_space", "parse_design_space",
           "DesignEncoder", "Evaluator", "load_evaluator", "mape", "save_evaluator", "train_evaluator",
           "HardwareGenerator", "EvolutionarySearch", "evolutionary_search", "pair_fitness"]
