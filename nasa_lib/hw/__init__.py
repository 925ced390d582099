"""NASA's chunk-based accelerator model and auto-mapper (SOURCES.md [NASA], [NASA-F] chip_predictor.py).

Reads only :class:`nasa_lib.layerspec.LayerSpec` lists; no torch, no Lightning, no network code.

Public API::

    load_accelerator(name_or_path) -> Accelerator        # "nasa_chunk", "eyeriss_like" or a YAML path
    map_layer(spec, accelerator, chunk=None, n_pe=None, buffer_kb=None, dataflow="auto",
              objective="edp") -> LayerCost               # one layer, best dataflow and tiling
    map_network(specs, accelerator, objective="edp", dataflow="auto", pe_split="search",
                buffer_units=8) -> NetworkResult          # a whole network, PE / buffer split included
    op_cost_table(candidates, accelerator, metric="energy") -> list[dict[str, float]]
    evaluate_mapping(spec, accelerator, chunk, mapping, n_pe, buffer_bytes) -> LayerCost

Units: energy in pJ (layers) and uJ (networks), latency in cycles and ms, buffer in bytes / KB,
area in mm^2, all per image.
"""
from .accelerator import Accelerator, Chunk, list_accelerators, load_accelerator, parse_accelerator
from .costmodel import (DATAFLOW_NAMES, DATAFLOWS, Dataflow, LayerCost, LayerShape, Mapping, eltwise_cost,
                        evaluate_mapping, executed_op_counts)
from .mapper import OBJECTIVES, best_mapping, chunk_for, clear_cache, layer_table, map_layer, pe_counts
from .network import (FLOPS_DIVISOR, NetworkResult, assign_chunks, largest_remainder, map_network,
                      op_cost_table, proportional_split)
from .options import NASAF_COMPATIBLE, PER_LAYER, SWITCH_DOCS, SWITCH_VALUES, ModelOptions, as_options

__all__ = ["Accelerator", "Chunk", "list_accelerators", "load_accelerator", "parse_accelerator",
           "DATAFLOW_NAMES", "DATAFLOWS", "Dataflow", "LayerCost", "LayerShape", "Mapping", "eltwise_cost",
           "evaluate_mapping", "executed_op_counts", "OBJECTIVES", "best_mapping", "chunk_for", "clear_cache",
           "layer_table", "map_layer", "FLOPS_DIVISOR", "NetworkResult", "assign_chunks", "largest_remainder",
           "map_network", "op_cost_table", "pe_counts", "proportional_split", "NASAF_COMPATIBLE", "PER_LAYER",
           "SWITCH_DOCS", "SWITCH_VALUES", "ModelOptions", "as_options"]
