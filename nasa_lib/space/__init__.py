"""Search spaces, the FBNet layout, the weight-sharing supernet and child networks."""
from .layout import FBNetLayout, LayerSlot, round_channels
from .networks import (BASELINES, ChildNet, arch_layer_specs, baseline_arch, candidate_layer_specs,
                       check_arch, load_arch, save_arch)
from .spaces import ALIASES, SPACES, canonical_space_name, get_space, layer_candidates
from .supernet import MixedLayer, Supernet

__all__ = ["FBNetLayout", "LayerSlot", "round_channels", "BASELINES", "ChildNet", "arch_layer_specs",
           "baseline_arch", "candidate_layer_specs", "check_arch", "load_arch", "save_arch", "ALIASES",
           "SPACES", "canonical_space_name", "get_space", "layer_candidates", "MixedLayer", "Supernet"]
