"""The NASA-F reference network: the 22-block Hybrid-All CIFAR-10 network the NASA-F chunk-accelerator
simulator (shihuihong214/NASA-F, commit 37653ba1) was run on, unmodified, giving 572 uJ / 1.69 ms /
EDP 0.97 mJ x ms with PEs 106/60/56 (those figures live in ``nasa_lib/report/paper_reference.yaml``).

``reference/nasaf_network.json`` holds its layers exactly as they were fed to that simulator (the
file says how).  NASA-F costs the blocks' PW1 / DW / PW2 layers only: no stem, header, classifier
or residual adds, so :func:`nasaf_block_specs` returns just those, for a like-for-like comparison.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..layerspec import LayerSpec

REFERENCE_FILE = Path(__file__).resolve().parent / "reference" / "nasaf_network.json"
OP_OF = {"conv": "mult", "shift": "shift", "adder": "adder"}


def load_reference() -> dict:
    return json.loads(REFERENCE_FILE.read_text())


def _spec(layer: dict) -> LayerSpec:
    return LayerSpec(name=layer["name"], op=OP_OF[layer["op_type"]], N=layer["N"], K=layer["M"], C=layer["C"],
                     P=layer["E"], Q=layer["F"], R=layer["R"], S=layer["S"], stride=layer["stride"],
                     padding=layer["pad"], groups=layer["groups"], bits_w=layer["bits"], bits_a=layer["bits"],
                     H_in=layer["H"], W_in=layer["W"])


def nasaf_block_specs() -> list[LayerSpec]:
    """The layers NASA-F costed: every block's PW1 (when expanded), DW and PW2, in network order."""
    return [_spec(layer) for block in load_reference()["network"]["blocks"] for layer in block["layers"]]


def nasaf_blocks() -> list[dict]:
    """Per block: op type (conv / shift / adder), kernel, expansion, stride, channels in and out."""
    return [{k: b[k] for k in ("op_type", "kernel", "expansion", "stride", "cin", "cout", "H_in")}
            for b in load_reference()["network"]["blocks"]]
