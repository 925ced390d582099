"""Accelerator YAML files: the shipped ones load with their documented facts; malformed ones fail
with one line that names the file and the field."""
import pytest
import yaml

from nasa_lib.hw import list_accelerators, load_accelerator, parse_accelerator
from nasa_lib.hw.accelerator import ACCELERATOR_DIR

NASA_TEXT = (ACCELERATOR_DIR / "nasa_chunk.yaml").read_text()


def test_shipped_accelerators_load_with_paper_facts():
    assert {"nasa_chunk", "eyeriss_like"} <= set(list_accelerators())
    nasa = load_accelerator("nasa_chunk")
    assert nasa.pe_budget == 168 and nasa.gb_bytes == 128 * 1024 and nasa.clock_mhz == 250
    assert [(c.name, c.pe_type, c.bits) for c in nasa.chunks] == [
        ("conv", "mult", 8), ("shift", "shift", 6), ("adder", "adder", 6)]
    assert (nasa.rf_ifmap_entries, nasa.rf_weight_entries) == (48, 112)
    # NASA-F unit energies (pJ) and the Eyeriss 16-bit access costs (SOURCES.md [NASA-F], [Eyeriss])
    assert nasa.op_energy("mult", 8) == 0.2 and nasa.op_energy("add", 6) == 0.022
    assert nasa.op_energy("shift", 6) == 0.018 and nasa.op_energy("mult", 32) == 3.7
    assert nasa.access_energy("dram", 16) == 200 and nasa.access_energy("dram", 8) == 100
    assert nasa.access_energy("register_file", 6) == pytest.approx(6 / 16)
    eyeriss = load_accelerator("eyeriss_like")
    assert eyeriss.pe_budget == 168 and eyeriss.gb_bytes == nasa.gb_bytes
    (array,) = eyeriss.chunks
    assert array.pe_type == "mult" and array.bits == 8 and set(array.runs) == {"mult", "shift", "adder", "eltwise"}


def test_every_number_has_a_source_or_a_marked_assumption():
    nasa = load_accelerator("nasa_chunk")
    sources = nasa.describe_sources()
    assert "pe_budget" in sources and "NASA-F" in sources["pe_budget"]
    assumptions = {k for k, v in sources.items() if v.startswith("assumption:")}
    assert "dram.bandwidth_bits_per_cycle" in assumptions and "sram_area_mm2_per_kb" in assumptions
    assert "memory_energy_pj_per_16bit.dram" not in assumptions


def _error(text: str) -> str:
    with pytest.raises(ValueError) as info:
        parse_accelerator(text, "nasa_chunk.yaml")
    message = str(info.value)
    assert "\n" not in message and message.startswith("nasa_chunk.yaml: ")
    return message


@pytest.mark.parametrize("old, new, expected", [
    ("bits: 6\n    runs: [adder", "bits: 7\n    runs: [adder",
     "nasa_chunk.yaml: chunks.adder.bits must be one of [6, 8, 16, 32], got 7"),
    ("pe_type: shift", "pe_type: divider",
     "chunks.shift.pe_type must be one of ['mult', 'shift', 'adder'], got 'divider'"),
    ("runs: [mult, eltwise]", "runs: [conv, eltwise]", "chunks.conv.runs[0] must be one of"),
    ("runs: [shift, eltwise]", "runs: [mult, eltwise]",
     "chunks.shift.runs[0] must be one of ['eltwise', 'shift'], got 'mult'"),
    ("clock_mhz:\n  value: 250", "clock_mhz:\n  value: -5", "clock_mhz.value must be a number > 0, got -5"),
    ("pe_budget:\n  value: 168", "pe_budget:\n  value: 16.5", "pe_budget.value must be an integer > 0, got 16.5"),
    ('8: {value: 0.2, source: "NASA-F table; Horowitz ISSCC\'14 45 nm INT8 multiply"}', "8: {value: 0.2}",
     "op_energy_pj.mult.8.source must be a non-empty string"),
    ("name: nasa_chunk", "name: nasa_chunk\nfrobnicate: 3", "frobnicate is not a known field"),
])
def test_malformed_files_name_the_field(old, new, expected):
    assert old in NASA_TEXT
    message = _error(NASA_TEXT.replace(old, new, 1))
    assert expected in message, message


def test_assumption_needs_a_reason_and_value_must_be_numeric():
    doc = yaml.safe_load(NASA_TEXT)
    doc["register_file"]["psum_entries"]["reason"] = "  "
    assert "register_file.psum_entries.reason must be a non-empty string" in _error(yaml.safe_dump(doc))
    doc = yaml.safe_load(NASA_TEXT)
    doc["global_buffer"]["size_kb"]["value"] = "lots"
    assert "global_buffer.size_kb.value must be a number > 0, got 'lots'" in _error(yaml.safe_dump(doc))


def test_missing_field_and_missing_unit_cost_are_named():
    assert "pe_budget must be present" in _error(NASA_TEXT.replace("pe_budget:", "pe_budgets:", 1))
    text = NASA_TEXT.replace('    6: {value: 0.018, source: "NASA-F table (SOURCES.md [NASA-F] chip_predictor.py)"}\n', "")
    assert "op_energy_pj.shift.6 must be present (chunk shift works at 6 bits)" in _error(text)


def test_unknown_accelerator_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="accelerator='tpu' is not known; valid names: .*nasa_chunk"):
        load_accelerator("tpu")


def test_replace_keeps_the_rest_and_checks_values():
    nasa = load_accelerator("nasa_chunk")
    bigger = nasa.replace(pe_budget=200, gb_bytes=256 * 1024)
    assert bigger.pe_budget == 200 and bigger.chunks == nasa.chunks
    with pytest.raises(ValueError, match="pe_budget and gb_bytes must be positive"):
        nasa.replace(pe_budget=0)
