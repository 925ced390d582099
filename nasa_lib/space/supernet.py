"""The weight-sharing supernet.

Each searchable layer is a :class:`MixedLayer` whose candidates share weight blocks, by one of
:data:`WEIGHT_SHARING` (the switch ``network.weight_sharing``):

* ``"elastic"`` (default): one block per operator kind, at the largest expansion and kernel of the
  kind's candidates with dense 1x1 convolutions; every candidate of that kind is a view of it:
  e1/e3 the leading channels, k3 the centre of the k5 depthwise kernel (OFA's elastic kernel),
  ``_g2`` the block-diagonal part of the 1x1 weights (``nasa_lib.ops.base``).  Measured on the
  embedded default (``benchmarks/supernet_remedies/FINDINGS.md``): with uniform single-path
  sampling, a supernet of 4 unrelated blocks per layer stays at chance, the elastic one learns.
* ``"elastic_kinds"``: ``elastic``, and a shift candidate is the DeepShift-Q view of the
  multiplication block of its layer (its weights rounded to powers of two, its input to 16.16
  fixed point: ``nasa_lib.ops.shift.as_shift``), the heterogeneous weight sharing of ShiftAddNAS
  for mult and shift; needs ``shift_mode="q"``.  Measured on the embedded default
  (``benchmarks/supernet_sharing.py``): the separate shift block keeps Hybrid-All's mult phase
  far below Hybrid-Adder's, which has one block there.
* ``"channels"``: one block per (kind, kernel, groups) at the largest expansion; only expansions
  share (e1/e3 = leading channels of e6, SOURCES.md [NASA-code] operations_ws.py): the supernet of
  earlier versions.

A layer runs in one of these ways:

* all candidates mixed by given weights (FBNet "soft" search): ``forward(x, weights)``;
* a given set of active paths, mixed by the given weights (ProxylessNAS "hard" search, and PGP
  sampling): ``forward(x, weights, active)``; with ``weights=None`` the active paths are averaged;
* ``full_width=True``: every candidate runs at its shared block's full width (PGP's first half of
  each phase trains the e6 blocks whole).

When more than one candidate runs in a call, candidates of one block share the work of their
expand (pw1, BN1, ReLU) and depthwise (dw, BN2, ReLU) stages, which are per channel: a smaller
expansion's are the leading channels of a larger one's (:meth:`MixedLayer.run_ops_shared`; same
outputs and gradients, BN running statistics updated once per shared stage).  A one-candidate call
runs the candidate alone, unchanged (:meth:`MixedLayer.run_op`).

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


WEIGHT_SHARING = ("elastic", "elastic_kinds", "channels")
# kinds whose candidates run as a view of another kind's block under elastic_kinds sharing
KIND_VIEWS = {"shift": "mult"}


def share_key(cfg, weight_sharing: str) -> tuple:
    """The candidates with the same key share one weight block."""
    if weight_sharing == "elastic_kinds":
        return (KIND_VIEWS.get(cfg.kind, cfg.kind),)
    return (cfg.kind,) if weight_sharing == "elastic" else cfg.share_key


def _share_name(key: tuple) -> str:
    if len(key) == 1:
        return key[0]
    kind, kernel, groups = key
    return f"{kind}_k{kernel}_g{groups}"


class MixedLayer(nn.Module):
    def __init__(self, slot: LayerSlot, candidates: list[str], quantize: bool = False, shift_mode: str = "q",
                 weight_sharing: str = "elastic"):
        super().__init__()
        if not candidates:
            raise ValueError(f"layer {slot.index}: no candidate ops")
        if weight_sharing not in WEIGHT_SHARING:
            raise ValueError(f"weight_sharing={weight_sharing!r} is not valid; valid values: {', '.join(WEIGHT_SHARING)}")
        self.slot = slot
        self.candidates = list(candidates)
        self.configs = [get_op(name) for name in candidates]
        self.weight_sharing = weight_sharing
        if weight_sharing == "elastic_kinds" and shift_mode != "q" and any(c.kind == "shift" for c in self.configs):
            raise ValueError(f"weight_sharing=elastic_kinds needs shift_mode='q' (a DeepShift-Q view of the conv "
                             f"weights), got shift_mode={shift_mode!r}")
        elastic = weight_sharing != "channels"
        sizes: dict[tuple, tuple[int, int, int]] = {}  # key -> (expansion, kernel, groups) of its block
        for cfg in self.configs:
            if cfg.kind != "skip":
                e, k, g = sizes.get(share_key(cfg, weight_sharing), (0, 0, cfg.groups))
                # an elastic block is dense (groups 1): its grouped candidates are block-diagonal views
                sizes[share_key(cfg, weight_sharing)] = (max(e, cfg.expansion), max(k, cfg.kernel),
                                                         1 if elastic else g)
        self.shared = nn.ModuleDict()
        for key, (expansion, kernel, groups) in sizes.items():
            name = f"{op_kind(key[0]).prefix}k{kernel}_e1{'_g2' if groups == 2 else ''}"
            self.shared[_share_name(key)] = build_block(name, slot.in_channels, slot.out_channels, slot.stride,
                                                        quantize=quantize, shift_mode=shift_mode,
                                                        expansion=expansion)
        self.skip = (SkipBlock(slot.in_channels, slot.out_channels, slot.stride, quantize)
                     if any(c.kind == "skip" for c in self.configs) else None)

    def block_for(self, op: str) -> nn.Module:
        cfg = get_op(op)
        if op not in self.candidates:
            raise ValueError(f"layer {self.slot.index}: op {op!r} is not a candidate; valid: {', '.join(self.candidates)}")
        return self.skip if cfg.kind == "skip" else self.shared[_share_name(share_key(cfg, self.weight_sharing))]

    def _call_of(self, index: int, full_width: bool = False) -> tuple:
        """(block, expansion, kernel, groups, as_kind): how candidate ``index`` (not the skip) runs
        on its shared block (groups resolved: never None); ``full_width``: at the block's full
        expansion, its own kernel and groups (PGP's full-width steps)."""
        cfg = self.configs[index]
        block = self.shared[_share_name(share_key(cfg, self.weight_sharing))]
        as_kind = cfg.kind if cfg.kind != block.kind else None
        if full_width:
            return (block, block.expansion, cfg.kernel,
                    1 if self.weight_sharing != "channels" else block.groups, as_kind)
        return block, cfg.expansion, cfg.kernel, cfg.groups, as_kind

    def run_op(self, index: int, x: torch.Tensor, full_width: bool = False) -> torch.Tensor:
        """Candidate ``index`` on ``x``; ``full_width``: at its shared block's full expansion (its own
        kernel and groups), PGP's full-width steps."""
        if self.configs[index].kind == "skip":
            return self.skip(x)
        block, expansion, kernel, groups, as_kind = self._call_of(index, full_width)
        return block(x, expansion, kernel, groups, as_kind)

    def run_ops_shared(self, indices, x: torch.Tensor, full_width: bool = False) -> list[torch.Tensor]:
        """The outputs of :meth:`run_op` for every candidate in ``indices``, with the expand and
        depthwise stages shared among candidates (what a multi-path call runs).

        Candidates of one block with the same ``as_kind`` and groups share one expand stage (pw1,
        BN1, ReLU [, shuffle]) run at their largest expansion, each taking its leading ``C_in*e``
        channels (grouped candidates: only those of the same expansion, as a g2 view's channels are
        not a prefix of a wider one's; g1 and g2 never mix); those with the same kernel too share
        one depthwise stage (dw, BN2, ReLU), run on the leading channels of the expand output at
        their largest expansion; pw2 + BN3 (+ residual) run per candidate.  Only blocks whose
        stages are channel-wise (:meth:`MBConvBlock.channelwise_stages`: float mult and shift
        blocks, also as the shift view) share so.  Adder blocks (AdderNet rescales each call's
        weight gradient by that call's own norm, so a shared call would give other gradients),
        shift-adder and quantised blocks, and the skip, run as in :meth:`run_op`.  The outputs and
        the gradients of all parameters and inputs are those of running each candidate on its own
        (as :meth:`run_op`), up to floating-point rounding.

        The one intended difference: in a shared expand or depthwise stage, BN1's or BN2's running
        statistics are updated once (by its widest run, whose leading channels hold each of its
        candidates' batch statistics) instead of once per candidate: after a step a channel's
        running mean/var have taken one EMA step towards the batch statistics instead of several
        towards the same values.  Running statistics are used only in eval mode; the training
        mode's batch-statistics outputs and gradients are unchanged."""
        calls = {}
        expand_at: dict[tuple, int] = {}  # expand key -> largest expansion among its candidates
        dw_at: dict[tuple, int] = {}  # expand key + (kernel,) -> the same among those of that kernel
        for i in indices:
            if self.configs[i].kind == "skip":
                continue
            block, e, k, g, as_kind = call = self._call_of(i, full_width)
            key = (id(block), as_kind, g, e if g > 1 else None)   # the candidates of one expand stage
            calls[i] = call + (key,)
            if block.channelwise_stages():
                expand_at[key] = max(expand_at.get(key, 0), e)
                dw_at[key + (k,)] = max(dw_at.get(key + (k,), 0), e)
        expanded: dict[tuple, torch.Tensor] = {}
        dw_out: dict[tuple, torch.Tensor] = {}
        outs = []
        for i in indices:
            if i not in calls:
                outs.append(self.run_op(i, x, full_width))
                continue
            block, e, k, g, as_kind, key = calls[i]
            if key not in expand_at:  # a block whose stages do not share: as run_op
                outs.append(block(x, e, k, g, as_kind))
                continue
            if key not in expanded:
                expanded[key] = block.expand(x, expand_at[key], g, as_kind)
            if key + (k,) not in dw_out:
                y, mid = expanded[key], block.in_channels * dw_at[key + (k,)]
                dw_out[key + (k,)] = block.depthwise(y if y.shape[1] == mid else y[:, :mid], k, as_kind)
            block.resolve_expansion(e, g)  # the checks run_op makes
            y = dw_out[key + (k,)]
            mid = block.in_channels * e
            outs.append(block.project(y if y.shape[1] == mid else y[:, :mid], x, g, as_kind))
        return outs

    def forward(self, x, weights: torch.Tensor | None = None, active: list[int] | None = None,
                full_width: bool = False) -> torch.Tensor:
        """Mix the candidates ``active`` (all if None) by ``weights`` (averaged if None).  One
        candidate runs as :meth:`run_op`; several share their blocks' expand and depthwise stages
        (:meth:`run_ops_shared`, whose docstring gives the one difference: BN running statistics)."""
        indices = range(len(self.candidates)) if active is None else active
        ys = ([self.run_op(i, x, full_width) for i in indices] if len(indices) == 1
              else self.run_ops_shared(indices, x, full_width))
        out = None
        for i, y in zip(indices, ys):
            y = y / len(indices) if weights is None else y * weights[i]
            out = y if out is None else out + y
        return out

    def kind_of(self, index: int) -> str:
        return self.configs[index].kind


class Supernet(HybridBackbone):
    def __init__(self, space: str, layout: FBNetLayout | None = None, adder_free_ends: int = 3,
                 quantize: bool = False, shift_mode: str = "q", weight_sharing: str = "elastic"):
        layout = layout or FBNetLayout()
        super().__init__(layout, quantize)
        self.space = canonical_space_name(space)
        self.adder_free_ends = adder_free_ends
        self.weight_sharing = weight_sharing
        self.candidates = layer_candidates(self.space, layout.num_layers, adder_free_ends)
        self.layers = nn.ModuleList(MixedLayer(slot, cands, quantize, shift_mode, weight_sharing)
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

    def widest_active(self) -> list[list[int]]:
        """Per layer, its largest multiplication-based candidate (largest expansion, then kernel;
        any kind where a layer has no such candidate): the path through the shared blocks' full
        weights, on which the supernet's weights themselves are checked."""
        def size(cfg):
            return (cfg.kind == "mult", cfg.expansion, cfg.kernel, -cfg.groups)
        return [[max(range(len(layer.configs)), key=lambda i: size(layer.configs[i]))] for layer in self.layers]

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
