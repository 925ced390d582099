"""DANCE design spaces: the shipped files, one-line errors naming the field, points, encodings and
the area formula checked against a hand calculation."""
import numpy as np
import pytest

from nasa_lib.dance import list_design_spaces, load_design_space, parse_design_space
from nasa_lib.dance.design_space import DESIGN_SPACE_DIR

EYERISS_TEXT = (DESIGN_SPACE_DIR / "eyeriss_dance.yaml").read_text()
CHUNK_TEXT = (DESIGN_SPACE_DIR / "chunk_dance.yaml").read_text()


def test_shipped_spaces_load_with_their_sizes():
    assert {"eyeriss_dance", "chunk_dance"} <= set(list_design_spaces())
    eye, chunk = load_design_space("eyeriss_dance"), load_design_space("chunk_dance")
    assert eye.size == 3 * 3 * 3 * 4 * 3 == len(eye.enumerate())
    # compositions of 12 columns of 14 PEs into 3 chunks of >= 1 column: C(11, 2) = 55
    assert len(chunk.dim("pe_split")) == 55
    assert chunk.size == 55 * 3 * 4 ** 3
    assert all(sum(n for _, n in split) == 168 for split in chunk.dim("pe_split").values)
    assert eye.point(eye.reference_index)["pe_rows"] * eye.point(eye.reference_index)["pe_cols"] == 168
    assert chunk.point(chunk.reference_index)["pe_split"] == {"conv": 56, "shift": 56, "adder": 56}


def test_points_round_trip_and_encodings_are_one_hot_plus_features():
    ds = load_design_space("chunk_dance")
    pts = ds.sample(50, np.random.default_rng(0))
    for p in pts[:10]:
        assert np.array_equal(ds.index_of(ds.point(p)), p)
    enc = ds.encode(pts)
    assert enc.shape == (50, ds.encoding_size)
    start = 0
    for j, d in enumerate(ds.dimensions):
        block = enc[:, start:start + len(d)]
        assert np.array_equal(block.argmax(1), pts[:, j]) and np.all(block.sum(1) == 1)
        feats = enc[:, start + len(d):start + len(d) + len(d.features[0])]
        assert feats.size == 0 or (feats.min() >= 0 and feats.max() <= 1)
        start += len(d) + len(d.features[0])


def test_reference_area_matches_a_hand_calculation():
    ds = load_design_space("eyeriss_dance")
    # one 8-bit MAC PE: multiplier 282 + adder 36 um^2, register files (48 + 112 + 24) entries x 8 bits
    # x 4.0 um^2/bit = 5888 um^2; 168 PEs -> 168 * 6206 um^2 = 1.042608 mm^2; 128 KB x 0.006 mm^2/KB = 0.768
    assert ds.area_mm2(ds.reference_index)[0] == pytest.approx(168 * (282 + 36 + 184 * 8 * 4.0) * 1e-6 + 0.768)
    chunk = load_design_space("chunk_dance")
    # 56 conv PEs (8-bit MAC, 6206 um^2), 56 shift PEs (6-bit shifter 34 + adder 27 + 184 x 6 bits x 4.0)
    # and 56 adder PEs (two 6-bit adders 54 + 4416); buffer 0.768 mm^2
    hand = 56 * (6206 + (34 + 27 + 4416) + (27 + 27 + 4416)) * 1e-6 + 0.768
    assert chunk.area_mm2(chunk.reference_index)[0] == pytest.approx(hand)


def _error(text: str, filename="bad.yaml") -> str:
    with pytest.raises(ValueError) as info:
        parse_design_space(text, filename)
    msg = str(info.value)
    assert "\n" not in msg
    return msg


@pytest.mark.parametrize("old,new,expected", [
    ("values: [8, 12, 16]", "values: [8, -12, 16]", "bad.yaml: dimensions.pe_rows.values[1] must be a positive integer, got -12"),
    ("values: [RS, WS, OS]", "values: [RS, XS]", "dimensions.dataflow.values[1] must be one of ['RS', 'WS', 'OS', 'IS'], got 'XS'"),
    ("values: [32, 64, 128, 256]", "values: [32, 32]", "dimensions.global_buffer_kb.values must be a list without repeated values"),
    ("template: eyeriss", "template: systolic", "bad.yaml: template must be one of ['eyeriss', 'chunk'], got 'systolic'"),
    ("  global_buffer_kb: 128\n  dataflow: RS", "  global_buffer_kb: 100\n  dataflow: RS",
     "reference_design.global_buffer_kb must be one of the dimension's values [32, 64, 128, 256], got 100"),
    ("mapping_objective: edp", "mapping_objective: flops", "mapping_objective must be one of ['edp', 'energy', 'latency']"),
    ("      - {ifmap_entries: 96, weight_entries: 224, psum_entries: 48}",
     "      - {ifmap_entries: 96, weight_entries: 0, psum_entries: 48}",
     "dimensions.register_file.values[2].weight_entries must be a positive integer, got 0"),
    ("    values: [8, 14, 16]\n    assumption: true", "    values: [8, 14, 16]\n    assumption: yes please",
     "dimensions.pe_cols.assumption must be true (or absent, with a source)"),
])
def test_malformed_eyeriss_space_names_the_field(old, new, expected):
    assert old in EYERISS_TEXT
    assert expected in _error(EYERISS_TEXT.replace(old, new, 1))


@pytest.mark.parametrize("old,new,expected", [
    ("    step_pes: 14", "    step_pes: 13", "dimensions.pe_split.step_pes must be a divisor of the PE budget 168, got 13"),
    ("  dataflow_adder:\n", "  dataflow_adders:\n", "bad.yaml: dimensions.dataflow_adder must be present, got None"),
    ("  pe_split: {conv: 56, shift: 56, adder: 56}", "  pe_split: {conv: 50, shift: 56, adder: 62}",
     "reference_design.pe_split must be one of the dimension's values"),
    ("base_accelerator: nasa_chunk", "base_accelerator: eyeriss_like",
     "base_accelerator must be an accelerator with several chunks (chunk template), got 'eyeriss_like'"),
    ("    source: \"NASA-F: RS, IS, WS and OS per chunk (SOURCES.md [NASA-F] chip_predictor.py)\"\n  dataflow_adder",
     "    source: \"\"\n  dataflow_adder", "dimensions.dataflow_shift.source must be a non-empty string"),
])
def test_malformed_chunk_space_names_the_field(old, new, expected):
    assert old in CHUNK_TEXT
    assert expected in _error(CHUNK_TEXT.replace(old, new, 1))


def test_missing_dimension_unknown_name_and_bad_points():
    text = EYERISS_TEXT.replace("  pe_cols:\n", "  pe_colz:\n", 1)
    assert _error(text) == "bad.yaml: dimensions.pe_cols must be present, got None"
    with pytest.raises(ValueError, match="design_space='nope' is not known; valid names: .*eyeriss_dance"):
        load_design_space("nope")
    ds = load_design_space("eyeriss_dance")
    with pytest.raises(ValueError, match="design index for pe_cols must be in \\[0, 2\\]"):
        ds.check_points([0, 3, 0, 0, 0])
    with pytest.raises(ValueError, match="design points must have 5 indices"):
        ds.check_points([0, 0])
