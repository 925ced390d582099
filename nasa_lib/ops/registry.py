"""The operator registry: every candidate op name of the NASA search spaces and how to build it.

Names (SOURCES.md [NASA-code] genotypes.py): ``[<kind>_]k<kernel>_e<expansion>[_g2]`` with kind
prefix ``""`` (convolution), ``shift_``, ``add_`` (adder) or ``shiftadd_`` (shift then adder);
kernel 3 or 5; expansion 1, 3 or 6; ``_g2`` (expansion 1 only) = groups 2 on the 1x1 convolutions
plus a channel shuffle.  ``skip`` is the identity (or a 1x1 projection when the shape changes).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch.nn as nn

from .. import opkinds
from ..layerspec import LayerSpec
from .blocks import MBConvBlock, SkipBlock, mbconv_layer_specs, skip_layer_specs

KIND_PREFIXES = {opkinds.op_kind(kind).prefix: kind for kind in opkinds.mbconv_kinds()}
OP_KINDS = tuple(opkinds.OP_KINDS)  # kind names, in the op-kind table's order


@dataclass(frozen=True)
class OpConfig:
    name: str
    kind: str  # one of OP_KINDS
    kernel: int = 0
    expansion: int = 0
    groups: int = 1

    @property
    def share_key(self) -> tuple:
        """Candidates with the same key share one weight block in the supernet."""
        return (self.kind, self.kernel, self.groups)


def _build_registry() -> dict[str, OpConfig]:
    ops = {}
    for kind in opkinds.OP_KINDS.values():
        if not kind.mbconv:  # a kind without MBConv blocks (skip) is one op, named by its prefix
            ops[kind.prefix] = OpConfig(kind.prefix, kind.name)
            continue
        for k in (3, 5):
            for e, g, suffix in ((1, 1, ""), (1, 2, "_g2"), (3, 1, ""), (6, 1, "")):
                name = f"{kind.prefix}k{k}_e{e}{suffix}"
                ops[name] = OpConfig(name, kind.name, k, e, g)
    return ops


OPS: dict[str, OpConfig] = _build_registry()


def get_op(name: str) -> OpConfig:
    try:
        return OPS[name]
    except (KeyError, TypeError):
        raise ValueError(f"op {name!r} is not registered; valid ops: {', '.join(OPS)}") from None


def build_block(name: str, in_channels: int, out_channels: int, stride: int,
                quantize: bool = False, shift_mode: str = "q", expansion: int | None = None) -> nn.Module:
    """The block of op ``name``; ``expansion`` overrides the op's (the supernet's shared e_max)."""
    op = get_op(name)
    if op.kind == "skip":
        return SkipBlock(in_channels, out_channels, stride, quantize=quantize)
    return MBConvBlock(op.kind, in_channels, out_channels, op.kernel, expansion or op.expansion,
                       stride, op.groups, quantize=quantize, shift_mode=shift_mode)


def op_layer_specs(name: str, in_channels: int, out_channels: int, stride: int, height: int,
                   width: int, batch: int = 1, prefix: str = "") -> list[LayerSpec]:
    """The hardware layer specs of op ``name`` at this position (no module is built)."""
    op = get_op(name)
    if op.kind == "skip":
        return skip_layer_specs(in_channels, out_channels, stride, height, width, batch, prefix)
    return mbconv_layer_specs(op.kind, in_channels, out_channels, op.kernel, op.expansion, stride,
                              op.groups, height, width, batch, prefix)
