"""Claim 6's split of the chunk accelerator's gain into chunking and narrower words, on hand-made rows."""
import math

import pytest

from nasa_lib.artifacts import HwMappingMetrics
from nasa_lib.report.claims import chunking_split, judge_hw_claim
from nasa_lib.report.inputs import PipelineOutputs, Source


def _out(edps: dict) -> PipelineOutputs:
    rows = []
    for net, by_mode in edps.items():
        for mode, edp in by_mode.items():
            rows.append({"network": net, "seed": 0, "scale": "paper", "setting": "realistic", "mode": mode,
                         "shift_ops": 100, "pe_split": {"conv": 60, "shift": 108, "adder": 0}, "edp_uj_ms": edp})
    doc = HwMappingMetrics(objective="edp", modes=["auto", "multiplier_only", "chunk_8bit"], rows=rows, settings={},
                           sensitivity=[], nasaf_comparison={}).to_dict()
    out = PipelineOutputs(profile="test", data=None, seeds=[0])
    out.hw = Source("hw_mapping.json", doc)
    return out


def test_the_split_follows_the_edp_ratios():
    # net a: 8 -> 2 -> 1 (chunking ln 4, words ln 2); net b: 9 -> 3 -> 3 (chunking ln 3, words 0)
    out = _out({"paper:a": {"multiplier_only": 8.0, "chunk_8bit": 2.0, "auto": 1.0},
                "paper:b": {"multiplier_only": 9.0, "chunk_8bit": 3.0, "auto": 3.0}})
    split = chunking_split(out, scale="paper")
    c, w = 100 * (math.log(4) + math.log(3)) / 2, 100 * math.log(2) / 2
    assert split["networks"] == 2
    assert split["chunking_percent"] == pytest.approx(100 * c / (c + w))
    assert split["words_percent"] == pytest.approx(100 * w / (c + w))
    reason = judge_hw_claim(out, "chunking_vs_multiplier_only", scale="paper").reason
    assert f"chunking gives {100 * c / (c + w):.0f} %" in reason and f"narrower words {100 * w / (c + w):.0f} %" in reason


def test_no_split_without_the_ablation_rows():
    out = _out({"paper:a": {"multiplier_only": 8.0, "auto": 1.0}})
    assert chunking_split(out, scale="paper") is None
    assert "chunking gives" not in judge_hw_claim(out, "chunking_vs_multiplier_only", scale="paper").reason
