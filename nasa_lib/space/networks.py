"""Stem and head shared by every network, the fixed child network, architectures as JSON, and
layer specs computed without building any module."""
from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..layerspec import LayerSpec
from ..opkinds import op_kind
from ..ops.blocks import conv_layer_specs
from ..ops.quant import QConv2d
from ..ops.registry import build_block, get_op, op_layer_specs
from .layout import FBNetLayout
from .spaces import ADDER_KINDS, canonical_space_name, layer_candidates

BASELINES = {  # name -> (op prefix, description)
    "all-conv": (op_kind("mult").prefix, "FBNet-like: every layer a multiplication-based MBConv"),
    "all-shift": (op_kind("shift").prefix, "DeepShift: every layer a shift MBConv"),
    "all-adder": (op_kind("adder").prefix, "AdderNet: every layer an adder MBConv"),
    "shift-adder": (op_kind("shiftadd").prefix, "ShiftAddNet: every layer a shift-then-adder MBConv"),
}
BASELINE_ALIASES = {"fbnet": "all-conv", "deepshift": "all-shift", "addernet": "all-adder",
                    "shiftaddnet": "shift-adder"}


class HybridBackbone(nn.Module):
    """Stem (3x3 conv + BN + ReLU), header (1x1 conv + BN + ReLU), pooling and classifier."""

    def __init__(self, layout: FBNetLayout, quantize: bool = False):
        super().__init__()
        self.layout = layout
        self.stem_conv = QConv2d(layout.in_channels, layout.stem_out, 3, layout.stem_stride, 1, quantize=quantize)
        self.stem_bn = nn.BatchNorm2d(layout.stem_out)
        last = layout.slots()[-1].out_channels
        self.header_conv = QConv2d(last, layout.header_out, 1, 1, 0, quantize=quantize)
        self.header_bn = nn.BatchNorm2d(layout.header_out)
        self.classifier = nn.Linear(layout.header_out, layout.num_classes)

    def forward_stem(self, x):
        return F.relu(self.stem_bn(self.stem_conv(x)), inplace=True)

    def forward_head(self, x):
        x = F.relu(self.header_bn(self.header_conv(x)), inplace=True)
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))

    def backbone_parameters(self):
        for module in (self.stem_conv, self.stem_bn, self.header_conv, self.header_bn, self.classifier):
            yield from module.parameters()


class ChildNet(HybridBackbone):
    """A fixed network: one op per searchable layer, each block at its own width."""

    def __init__(self, arch: list[str], layout: FBNetLayout | None = None, quantize: bool = False,
                 shift_mode: str = "q"):
        layout = layout or FBNetLayout()
        check_arch(arch, layout)
        super().__init__(layout, quantize)
        self.arch = list(arch)
        self.blocks = nn.ModuleList(
            build_block(op, s.in_channels, s.out_channels, s.stride, quantize=quantize, shift_mode=shift_mode)
            for op, s in zip(arch, layout.slots()))

    def forward(self, x):
        x = self.forward_stem(x)
        for block in self.blocks:
            x = block(x)
        return self.forward_head(x)

    def layer_specs(self, batch: int = 1) -> list[LayerSpec]:
        return arch_layer_specs(self.arch, self.layout, batch)

    def load_from_supernet(self, supernet) -> "ChildNet":
        """Copy this architecture's weights out of a weight-sharing supernet: each block gets the
        view of its shared block that the supernet computes the candidate with (leading channels,
        centre kernel taps, block-diagonal groups), so the child computes what the path computed."""
        if supernet.layout != self.layout:
            raise ValueError("load_from_supernet: the supernet was built for another layout")
        copy_leading_slices(self, supernet, prefixes=("stem_", "header_", "classifier"))
        for i, (op, block) in enumerate(zip(self.arch, self.blocks)):
            source = supernet.layers[i].block_for(op)
            copy_leading_slices(block, source)
            copy_conv_views(block, source)
        return self


def copy_conv_views(target: nn.Module, source: nn.Module) -> None:
    """Overwrite every sliceable convolution's weights in ``target`` with the view of the
    same-named layer of ``source`` at the target layer's shape (kernel, groups, channels)."""
    from ..ops.base import SliceableConv2d
    sources = dict(source.named_modules())
    with torch.no_grad():
        for name, layer in target.named_modules():
            if not isinstance(layer, SliceableConv2d):
                continue
            src = sources[name]
            dense_groups = None if src.depthwise or layer.groups == src.groups else layer.groups
            in_c = layer.in_channels if dense_groups else layer.in_channels // layer.groups
            if layer.depthwise:
                in_c = 1
            for pname, param in layer.named_parameters(recurse=False):
                if param.dim() == 4:
                    param.copy_(src.view(getattr(src, pname), layer.out_channels, in_c, layer.kernel_size,
                                         dense_groups))


def copy_leading_slices(target: nn.Module, source: nn.Module, prefixes: tuple = ()) -> None:
    """Copy every tensor of ``target``'s state from the leading slice of ``source``'s."""
    src = source.state_dict()
    with torch.no_grad():
        for name, tensor in target.state_dict().items():
            if prefixes and not name.startswith(prefixes):
                continue
            parent = src[name]
            tensor.copy_(parent[tuple(slice(0, n) for n in tensor.shape)] if tensor.dim() else parent)


def check_arch(arch, layout: FBNetLayout, space: str | None = None, adder_free_ends: int = 3) -> None:
    if not isinstance(arch, (list, tuple)) or len(arch) != layout.num_layers:
        got = len(arch) if isinstance(arch, (list, tuple)) else type(arch).__name__
        raise ValueError(f"arch must list one op per searchable layer: expected {layout.num_layers}, got {got}")
    for op in arch:
        get_op(op)
    if space is not None:
        for i, (op, allowed) in enumerate(zip(arch, layer_candidates(space, len(arch), adder_free_ends))):
            if op not in allowed:
                raise ValueError(f"arch layer {i}: op {op!r} is not allowed in space {space}; valid: {', '.join(allowed)}")


def baseline_arch(name: str, layout: FBNetLayout | None = None, kernel: int = 3, expansion: int = 6) -> list[str]:
    """The fixed baselines in the same layout: every searchable layer of one operator kind."""
    key = BASELINE_ALIASES.get(str(name).lower(), str(name).lower())
    if key not in BASELINES:
        raise ValueError(f"baseline {name!r} is not known; valid baselines: "
                         f"{', '.join(list(BASELINES) + list(BASELINE_ALIASES))}")
    op = f"{BASELINES[key][0]}k{kernel}_e{expansion}"
    get_op(op)
    return [op] * (layout or FBNetLayout()).num_layers


def arch_layer_specs(arch: list[str], layout: FBNetLayout | None = None, batch: int = 1) -> list[LayerSpec]:
    """Every layer of the child network ``arch`` as hardware layer specs (stem to classifier)."""
    layout = layout or FBNetLayout()
    check_arch(arch, layout)
    specs = conv_layer_specs("mult", "stem", layout.in_channels, layout.stem_out, 3, layout.stem_stride, 1,
                             layout.input_size, layout.input_size, batch)
    for op, slot in zip(arch, layout.slots()):
        specs += op_layer_specs(op, slot.in_channels, slot.out_channels, slot.stride, slot.in_size,
                                slot.in_size, batch, prefix=f"layer{slot.index}.")
    last = layout.slots()[-1]
    specs += conv_layer_specs("mult", "header", last.out_channels, layout.header_out, 1, 1, 1,
                              last.out_size, last.out_size, batch)
    bits = op_kind("mult").bits
    specs.append(LayerSpec(name="classifier", op="mult", N=batch, K=layout.num_classes, C=layout.header_out,
                           P=1, Q=1, bits_w=bits, bits_a=bits))
    return specs


def candidate_layer_specs(space: str, layout: FBNetLayout | None = None, batch: int = 1,
                          adder_free_ends: int = 3) -> list[dict[str, list[LayerSpec]]]:
    """Per searchable layer, the layer specs of each candidate op there (for per-op cost tables)."""
    layout = layout or FBNetLayout()
    table = []
    for slot, allowed in zip(layout.slots(), layer_candidates(space, layout.num_layers, adder_free_ends)):
        table.append({op: op_layer_specs(op, slot.in_channels, slot.out_channels, slot.stride, slot.in_size,
                                         slot.in_size, batch, prefix=f"layer{slot.index}.")
                      for op in allowed})
    return table


def save_arch(path, arch: list[str], layout: FBNetLayout, space: str | None = None, adder_free_ends: int = 3,
              **meta) -> None:
    check_arch(arch, layout, canonical_space_name(space) if space else None, adder_free_ends)
    doc = {"arch": list(arch), "layout": layout.to_dict(), "space": space, "adder_free_ends": adder_free_ends,
           "meta": meta}
    Path(path).write_text(json.dumps(doc, indent=1))


def load_arch(path) -> tuple[list[str], FBNetLayout, dict]:
    """(arch, layout, the whole document) from an architecture JSON file."""
    doc = json.loads(Path(path).read_text())
    for key in ("arch", "layout"):
        if key not in doc:
            raise ValueError(f"{path}: architecture file has no {key!r} field")
    layout = FBNetLayout.from_dict(doc["layout"])
    check_arch(doc["arch"], layout)
    return list(doc["arch"]), layout, doc


__all__ = ["HybridBackbone", "ChildNet", "BASELINES", "baseline_arch", "arch_layer_specs",
           "candidate_layer_specs", "save_arch", "load_arch", "check_arch", "copy_leading_slices",
           "ADDER_KINDS"]
