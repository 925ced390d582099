"""The NASA search spaces by name (lists of op names from ``nasa_lib.ops.OPS``).

Canonical names with the NASA code's names accepted as aliases (case-insensitive):

=================  ==========================  =============================================
name               alias(es)                   candidates
=================  ==========================  =============================================
OnlyConv           FBNet                       conv k3/k5 x {e1, e1_g2, e3, e6} + skip (9)
Hybrid-Shift       AddShift                    6 conv + 6 shift + skip (13)
Hybrid-Adder       AddAdd                      6 conv + 6 adder + skip (13)
Hybrid-ShiftAdd    AddShiftAdd                 6 conv + 6 shift-adder + skip (13)
Hybrid-All         AddAll                      6 conv + 6 shift + 6 adder + skip (19)
MultFree           NoConv                      8 shift + 8 shift-adder + skip (17)
MultFree-ShiftAdd  OnlyShiftAdd                8 shift-adder + skip (9)
=================  ==========================  =============================================

"6 conv" is k3/k5 x {e1, e3, e6}; "8" adds the two e1_g2 variants.  As in the NASA code, the
first and last ``adder_free_ends`` (3) searchable layers may not use ops containing an adder
convolution (``add_*`` and ``shiftadd_*``); 0 turns the rule off.
"""
from __future__ import annotations

from ..opkinds import kinds_with_layer_op, op_kind
from ..ops.registry import get_op


def _ops(kind: str, g2: bool = False) -> list[str]:
    """The op names of ``kind`` in a space: k3/k5 x {e1, [e1_g2,] e3, e6}; a kind without MBConv
    blocks (skip) is its one op."""
    entry = op_kind(kind)
    if not entry.mbconv:
        return [entry.prefix]
    exps = ("e1", "e1_g2", "e3", "e6") if g2 else ("e1", "e3", "e6")
    return [f"{entry.prefix}k{k}_{e}" for k in (3, 5) for e in exps]


SPACES: dict[str, list[str]] = {
    "OnlyConv": _ops("mult", True) + _ops("skip"),
    "Hybrid-Shift": _ops("mult") + _ops("shift") + _ops("skip"),
    "Hybrid-Adder": _ops("mult") + _ops("adder") + _ops("skip"),
    "Hybrid-ShiftAdd": _ops("mult") + _ops("shiftadd") + _ops("skip"),
    "Hybrid-All": _ops("mult") + _ops("shift") + _ops("adder") + _ops("skip"),
    "MultFree": _ops("shift", True) + _ops("shiftadd", True) + _ops("skip"),
    "MultFree-ShiftAdd": _ops("shiftadd", True) + _ops("skip"),
}

ALIASES = {"fbnet": "OnlyConv", "addshift": "Hybrid-Shift", "addadd": "Hybrid-Adder",
           "addshiftadd": "Hybrid-ShiftAdd", "addall": "Hybrid-All", "noconv": "MultFree",
           "onlyshiftadd": "MultFree-ShiftAdd"}

# Kinds containing an adder convolution: the adder-free-ends rule keeps them out of the end layers.
ADDER_KINDS = kinds_with_layer_op("adder")


def canonical_space_name(name: str) -> str:
    if isinstance(name, str):
        for canonical in SPACES:
            if canonical.lower() == name.lower():
                return canonical
        if name.lower() in ALIASES:
            return ALIASES[name.lower()]
    valid = list(SPACES) + [a for a in ("AddShift", "AddAdd", "AddShiftAdd", "AddAll", "NoConv", "OnlyShiftAdd", "FBNet")]
    raise ValueError(f"search space {name!r} is not known; valid spaces: {', '.join(valid)}")


def get_space(name: str) -> list[str]:
    """The candidate op names of a space (a fresh list)."""
    return list(SPACES[canonical_space_name(name)])


def layer_candidates(space: str, num_layers: int, adder_free_ends: int = 3) -> list[list[str]]:
    """Per searchable layer, the ops allowed there (the adder-free-ends rule applied)."""
    if not isinstance(adder_free_ends, int) or adder_free_ends < 0:
        raise ValueError(f"adder_free_ends={adder_free_ends!r} is not valid; it must be an integer >= 0")
    ops = get_space(space)
    out = []
    for i in range(num_layers):
        at_end = i < adder_free_ends or i >= num_layers - adder_free_ends
        allowed = [op for op in ops if not (at_end and get_op(op).kind in ADDER_KINDS)]
        out.append(allowed)
    return out
