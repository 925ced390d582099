"""The weight-sharing supernet.

Each searchable layer is a :class:`MixedLayer`: per (operator kind, kernel, groups) one block at
the largest expansion among its candidates; an e1 or e3 candidate runs on the leading channels of
that block (channel-wise sharing, PAPERS.md section 1).  A layer runs in one of these ways:

* all candidates mixed by given weights (FBNet "soft" search): ``forward(x, weights)``;
* a given set of active paths, mixed by the given weights (ProxylessNAS "hard" search, and PGP
  sampling): ``forward(x, weights, active)``; with ``weights=None`` the active paths are averaged;
* ``full_width=True``: every candidate runs at its shared block's full width (PGP's first half of
  each phase trains the e6 blocks whole).

Restricting to an operator group (multiplication-based only, adder only, ...) is done by
choosing the active paths: :meth:`Supernet.sample_active` draws them from the allowed kinds.
"""
from __future__ import annotations

from collections import defaultdict

import torch
import torch.nn as nn

from ..opkinds import op_kind
from ..ops.blocks import SkipBlock
from ..ops.registry import OP_KINDS, build_block, get_op
from .layout import FBNetLayout, LayerSlot
from .networks import HybridBackbone, arch_layer_specs
from .spaces import canonical_space_name, layer_candidates


def _share_name(key: tuple) -> str:
    kind, kernel, groups = key
    return f"{kind}_k{kernel}_g{groups}"


class MixedLayer(nn.Module):
    def __init__(self, slot: LayerSlot, candidates: list[str], quantize: bool = False, shift_mode: str = "q"):
        super().__init__()
        if not candidates:
            raise ValueError(f"layer {slot.index}: no candidate ops")
        self.slot = slot
        self.candidates = list(candidates)
        self.configs = [get_op(name) for name in candidates]
        widest: dict[tuple, int] = {}
        for cfg in self.configs:
            if cfg.kind != "skip":
                widest[cfg.share_key] = max(widest.get(cfg.share_key, 0), cfg.expansion)
        self.shared = nn.ModuleDict()
        for key, expansion in widest.items():
            kind, kernel, groups = key
            name = f"{op_kind(kind).prefix}k{kernel}_e1{'_g2' if groups == 2 else ''}"
            self.shared[_share_name(key)] = build_block(name, slot.in_channels, slot.out_channels, slot.stride,
                                                        quantize=quantize, shift_mode=shift_mode,
                                                        expansion=expansion)
        self.skip = (SkipBlock(slot.in_channels, slot.out_channels, slot.stride, quantize)
                     if any(c.kind == "skip" for c in self.configs) else None)

    def block_for(self, op: str) -> nn.Module:
        cfg = get_op(op)
        if op not in self.candidates:
            raise ValueError(f"layer {self.slot.index}: op {op!r} is not a candidate; valid: {', '.join(self.candidates)}")
        return self.skip if cfg.kind == "skip" else self.shared[_share_name(cfg.share_key)]

    def run_op(self, index: int, x: torch.Tensor, full_width: bool = False) -> torch.Tensor:
        cfg = self.configs[index]
        if cfg.kind == "skip":
            return self.skip(x)
        block = self.shared[_share_name(cfg.share_key)]
        return block(x, block.expansion if full_width else cfg.expansion)

    def forward(self, x, weights: torch.Tensor | None = None, active: list[int] | None = None,
                full_width: bool = False) -> torch.Tensor:
        indices = range(len(self.candidates)) if active is None else active
        out = None
        for i in indices:
            y = self.run_op(i, x, full_width)
            y = y / len(indices) if weights is None else y * weights[i]
            out = y if out is None else out + y
        return out

    def kind_of(self, index: int) -> str:
        return self.configs[index].kind


class Supernet(HybridBackbone):
    def __init__(self, space: str, layout: FBNetLayout | None = None, adder_free_ends: int = 3,
                 quantize: bool = False, shift_mode: str = "q"):
        layout = layout or FBNetLayout()
        super().__init__(layout, quantize)
        self.space = canonical_space_name(space)
        self.adder_free_ends = adder_free_ends
        self.candidates = layer_candidates(self.space, layout.num_layers, adder_free_ends)
        self.layers = nn.ModuleList(MixedLayer(slot, cands, quantize, shift_mode)
                                    for slot, cands in zip(layout.slots(), self.candidates))

    def forward(self, x, weights: list | None = None, active: list | None = None, full_width: bool = False):
        x = self.forward_stem(x)
        for i, layer in enumerate(self.layers):
            x = layer(x, None if weights is None else weights[i], None if active is None else active[i], full_width)
        return self.forward_head(x)

    def sample_active(self, kinds: tuple | None = None, n_paths: int = 1,
                      generator: torch.Generator | None = None) -> list[list[int]]:
        """Per layer, ``n_paths`` distinct candidates drawn uniformly from those of the allowed
        ``kinds`` (all kinds if None).  A layer with no candidate of those kinds (an adder phase
        in an adder-free end layer) draws from all its candidates."""
        if kinds is not None:
            bad = [k for k in kinds if k not in OP_KINDS]
            if bad:
                raise ValueError(f"kinds={bad} not valid; valid kinds: {', '.join(OP_KINDS)}")
        active = []
        for layer in self.layers:
            pool = [i for i, c in enumerate(layer.configs) if kinds is None or c.kind in kinds]
            pool = pool or list(range(len(layer.configs)))
            perm = torch.randperm(len(pool), generator=generator)[: max(1, min(n_paths, len(pool)))]
            active.append(sorted(pool[j] for j in perm.tolist()))
        return active

    def parameters_by_kind(self) -> dict[str, list[nn.Parameter]]:
        """Parameters grouped by the operator kind that owns them; ``"backbone"`` for the stem,
        header and classifier (always multiplication-based)."""
        groups = defaultdict(list)
        groups["backbone"] = list(self.backbone_parameters())
        for layer in self.layers:
            for name, block in layer.shared.items():
                groups[block.kind].extend(block.parameters())
            if layer.skip is not None:
                groups[layer.skip.kind].extend(layer.skip.parameters())
        return dict(groups)

    def arch_layer_specs(self, arch: list[str], batch: int = 1):
        return arch_layer_specs(arch, self.layout, batch)

    def export_child(self, arch: list[str], **child_kwargs):
        from .networks import ChildNet
        for i, op in enumerate(arch):
            self.layers[i].block_for(op)  # validates op is a candidate at layer i
        return ChildNet(arch, self.layout, **child_kwargs).load_from_supernet(self)
