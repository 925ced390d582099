"""The operator kinds of the NASA search spaces, in one table.

What an operator kind *is* -- the prefix of its op names, the hardware layers it is costed as,
the bits the hardware runs it at, its discount in the NASA code's FLOPs cost, the progressive
pretraining (PGP) phase that trains it, whether it is multiplication-free and has a conv twin,
and how the report names and colours it -- is written here once.  Every other place (the op
registry and layer factory in ``nasa_lib.ops``, the search spaces and supernet, the NAS cost and
PGP phases, the report's tables and figures) derives its view from :data:`OP_KINDS`, so adding
or changing a kind is one row here, and a place that forgets a kind fails loudly instead of
silently disagreeing.

This module is a bottom layer: it imports only the standard library and ``nasa_lib.layerspec``
(no torch), so the hardware side and the report may use it too.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from .layerspec import OP_TYPES

# Progressive pretraining's kind phases, in the order it trains them (SOURCES.md [NASA-code]
# search.py); its final "mixed" phase trains every kind and so is no kind's phase.
PGP_PHASES = ("mult", "adder")


@dataclass(frozen=True)
class OpKind:
    """One operator kind and every per-kind fact the suite uses."""

    name: str
    prefix: str              # op names are ``<prefix>k<kernel>_e<expansion>[_g2]``; for skip, the whole name
    mbconv: bool             # its ops are MBConv blocks whose three convolutions are of this kind
    layer_ops: tuple         # ``LayerSpec.op`` of the hardware layers one of its convolutions is costed as,
    #                          in order (skip: its 1x1 projection, present when the shape changes)
    bits: int                # weight and activation bits of its layers (and its residual add) on the hardware
    flops_discount: float | None   # per-MAC weight of its layers in the NASA code's FLOPs cost; None
    #                                when its layers are of several ops, each then at that op's kind's discount
    pgp_phase: str           # the PGP phase (one of PGP_PHASES) that trains it
    mult_free: bool          # its blocks contain no multiplication
    has_conv_twin: bool      # its op has a multiplication-based twin (same kernel, expansion, groups)
    label: str               # report figures' legend label
    short_label: str         # report tables' label ("3 conv, 2 shift")
    colour: str              # report figures' colour (Okabe-Ito, colour-blind safe), the same in every figure

    def __post_init__(self):
        bad_ops = [op for op in self.layer_ops if op not in OP_TYPES]
        if not self.layer_ops or bad_ops:
            raise ValueError(f"op kind {self.name!r}: layer_ops={self.layer_ops!r} must be a non-empty tuple of "
                             f"{', '.join(OP_TYPES)}")
        if self.pgp_phase not in PGP_PHASES:
            raise ValueError(f"op kind {self.name!r}: pgp_phase={self.pgp_phase!r} is not valid; valid values: "
                             f"{', '.join(PGP_PHASES)}")
        if (self.flops_discount is None) != (len(set(self.layer_ops)) > 1):
            raise ValueError(f"op kind {self.name!r}: flops_discount must be given exactly when its layers are "
                             f"of one op (layer_ops={self.layer_ops!r})")

    @property
    def color(self) -> str:
        """The kind's colour under matplotlib's spelling (the same value as :attr:`colour`)."""
        return self.colour

    @property
    def is_layer_op(self) -> bool:
        """Its convolutions are hardware layers of its own name (mult, shift, adder): such a kind's
        bits and FLOPs discount are those of that layer op everywhere."""
        return self.layer_ops == (self.name,)


def _table(*kinds: OpKind):
    names = [k.name for k in kinds]
    if len(set(names)) != len(names) or len({k.prefix for k in kinds}) != len(kinds):
        raise ValueError(f"op kinds {names}: names and prefixes must be unique")
    return MappingProxyType({k.name: k for k in kinds})


# The table, in the suite's display order (mult first, skip last).  Colours are the Okabe-Ito
# palette (distinct under the common colour-vision deficiencies; skip is its neutral grey); black is
# left for searched (hybrid) networks, which are of no one kind.  Bits are NASA's quantised
# retraining (SOURCES.md [NASA-code] operations.py); discounts are the NASA code's (a shift layer
# costs 1/8 and an adder layer 1/5 of the multiplication layer of the same shape,
# SOURCES.md [NASA-code] operations_ws.py).
OP_KINDS = _table(
    OpKind("mult", prefix="", mbconv=True, layer_ops=("mult",), bits=8, flops_discount=1.0,
           pgp_phase="mult", mult_free=False, has_conv_twin=False,
           label="conv (multiplication)", short_label="conv", colour="#0072b2"),
    OpKind("shift", prefix="shift_", mbconv=True, layer_ops=("shift",), bits=6, flops_discount=1 / 8,
           pgp_phase="mult", mult_free=True, has_conv_twin=True,
           label="shift", short_label="shift", colour="#009e73"),
    OpKind("adder", prefix="add_", mbconv=True, layer_ops=("adder",), bits=6, flops_discount=1 / 5,
           pgp_phase="adder", mult_free=True, has_conv_twin=True,
           label="adder", short_label="adder", colour="#d55e00"),
    # ShiftAddNet's convolution: a shift layer then an adder layer, each costed as its own op.
    OpKind("shiftadd", prefix="shiftadd_", mbconv=True, layer_ops=("shift", "adder"), bits=6, flops_discount=None,
           pgp_phase="adder", mult_free=True, has_conv_twin=True,
           label="shift-add", short_label="shift-add", colour="#cc79a7"),
    # The identity, or a multiplication-based 1x1 projection when the shape changes.
    OpKind("skip", prefix="skip", mbconv=False, layer_ops=("mult",), bits=8, flops_discount=1.0,
           pgp_phase="mult", mult_free=False, has_conv_twin=False,
           label="skip", short_label="skip", colour="#999999"),
)

# The kind a network's conv twin is made of: every op with a twin becomes this kind's op.
CONV_TWIN_KIND = "mult"


def op_kind(name: str) -> OpKind:
    """The table's entry for kind ``name``."""
    try:
        return OP_KINDS[name]
    except (KeyError, TypeError):
        raise ValueError(f"op kind {name!r} is not known; valid kinds: {', '.join(OP_KINDS)}") from None


def mbconv_kinds() -> tuple[str, ...]:
    """Kinds whose ops are MBConv blocks of their own convolutions (all but skip), in table order."""
    return tuple(k.name for k in OP_KINDS.values() if k.mbconv)


def kinds_in_phase(phase: str) -> tuple[str, ...]:
    """Kinds the PGP phase ``phase`` trains, in table order."""
    if phase not in PGP_PHASES:
        raise ValueError(f"PGP phase {phase!r} is not valid; valid phases: {', '.join(PGP_PHASES)}")
    return tuple(k.name for k in OP_KINDS.values() if k.pgp_phase == phase)


def kinds_with_layer_op(op: str) -> tuple[str, ...]:
    """MBConv kinds whose convolutions include a hardware layer of ``op`` ("adder": adder and
    shiftadd, the kinds the adder-free-ends rule keeps out of the end layers)."""
    if op not in OP_TYPES:
        raise ValueError(f"layer op {op!r} is not valid; valid values: {', '.join(OP_TYPES)}")
    return tuple(k.name for k in OP_KINDS.values() if k.mbconv and op in k.layer_ops)


def layer_op_kinds() -> tuple[OpKind, ...]:
    """Kinds that are themselves hardware layer ops (mult, shift, adder), in table order."""
    return tuple(k for k in OP_KINDS.values() if k.is_layer_op)


def kind_of_op_name(op_name: str) -> OpKind:
    """The kind of an op name, read from its prefix (the longest prefix that matches, so
    ``shiftadd_k3_e1`` is shiftadd, not shift).  The name itself is not checked against the
    registry (``nasa_lib.ops.get_op`` does that)."""
    for kind in OP_KINDS.values():
        if not kind.mbconv and op_name == kind.prefix:
            return kind
    matches = [k for k in OP_KINDS.values() if k.mbconv and op_name.startswith(k.prefix)]
    if not matches:
        raise ValueError(f"op {op_name!r} has no known kind prefix; valid prefixes: "
                         f"{', '.join(repr(k.prefix) for k in OP_KINDS.values())}")
    return max(matches, key=lambda k: len(k.prefix))


def conv_twin(op_name: str) -> str:
    """The op's conv twin (``shift_k3_e6`` -> ``k3_e6``); an op without a twin is its own."""
    kind = kind_of_op_name(op_name)
    if not kind.has_conv_twin:
        return op_name
    return OP_KINDS[CONV_TWIN_KIND].prefix + op_name[len(kind.prefix):]


__all__ = ["OpKind", "OP_KINDS", "PGP_PHASES", "CONV_TWIN_KIND", "op_kind", "mbconv_kinds", "kinds_in_phase",
           "kinds_with_layer_op", "layer_op_kinds", "kind_of_op_name", "conv_twin"]
