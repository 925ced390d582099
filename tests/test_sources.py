"""SOURCES.md: every source key cited in the repository is defined there, every code source names
its commit, and nothing cites the out-of-repository notes the suite was first written from."""
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "SOURCES.md"
ENTRY = re.compile(r"^- \*\*\[([^\]\s]+)\]\*\*", re.M)
KEY = re.compile(r"\[([A-Za-z][A-Za-z0-9+-]*)\](?!\()")   # [KEY], not a markdown link [text](url)
CITED_FILES = ("nasa_lib/**/*.py", "nasa_lib/**/*.yaml", "nasa_lib/**/*.json", "params.yaml", "profiles/*.yaml",
               "tests/*.py", "benchmarks/*.py", "notebooks/*.ipynb", "README.md", "reports/REPORT.md")
# (benchmarks/results/ holds earlier runs' outputs as they were generated: not edited after the fact)
CODE_SOURCES = ("NASA-code", "NASA-F", "AdderNet", "DeepShift", "ShiftAddNet")
# notes outside the repository that citations used to point to (spelled so this file does not match)
OUTSIDE = ("PAPERS" + ".md", "shared/" + "seeds", "shared/" + "reference")


def defined_keys(text: str) -> list:
    return ENTRY.findall(text)


def cited_keys(text: str) -> set:
    """Keys cited as ``SOURCES.md [KEY]`` (further keys may follow on the same line:
    ``SOURCES.md [A] file.py, [B]``)."""
    keys = set()
    for line in text.splitlines():
        for tail in line.split("SOURCES.md")[1:]:
            keys |= set(KEY.findall(tail))
    return keys


def undefined(text: str, defined) -> set:
    return cited_keys(text) - set(defined)


def _files():
    seen = set()
    for pattern in CITED_FILES:
        for path in sorted(ROOT.glob(pattern)):
            if path.is_file() and path != Path(__file__).resolve() and path not in seen:
                seen.add(path)
                yield path


def _entries() -> dict:
    body = SOURCES.read_text().split("## Source entries", 1)[1].split("\n## ", 1)[0]
    parts = re.split(r"^(?=- \*\*\[)", body, flags=re.M)
    return {ENTRY.match(p).group(1): p for p in parts if ENTRY.match(p)}


def test_keys_are_defined_once():
    keys = defined_keys(SOURCES.read_text())
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)
    assert {"NASA", "NASA-code", "NASA-F", "NASA-F-run", "DANCE", "AdderNet", "DeepShift", "ShiftAddNet",
            "Eyeriss", "Horowitz14"} <= set(keys)


def test_checker_finds_an_unknown_key():
    line = 'source: "NASA-F table (SOURCES.md [NASA-F] chip_predictor.py, [Eyeriss]; [NOPE]) stages [1, 4]"'
    assert cited_keys(line) == {"NASA-F", "Eyeriss", "NOPE"}
    assert undefined(line, defined_keys(SOURCES.read_text())) == {"NOPE"}
    assert cited_keys("weights[C] and [NASA] without the file name") == set()


def test_every_cited_key_is_in_sources_md():
    defined = defined_keys(SOURCES.read_text())
    cited, missing = set(), {}
    for path in _files():
        text = path.read_text(errors="replace")
        cited |= cited_keys(text)
        bad = undefined(text, defined)
        if bad:
            missing[str(path.relative_to(ROOT))] = sorted(bad)
    assert not missing, f"keys cited but not defined in SOURCES.md: {missing}"
    # the scan does see the citations (the accelerator YAMLs, params.yaml and the reference data cite these)
    assert {"NASA-code", "NASA-F", "NASA-F-run", "DANCE", "Eyeriss"} <= cited


def test_sources_md_cites_only_its_own_keys():
    text = SOURCES.read_text()
    used = set(KEY.findall(text))
    assert used - set(defined_keys(text)) == set()


def test_nothing_cites_notes_outside_the_repository():
    hits = [f"{path.relative_to(ROOT)}: {word}" for path in list(_files()) + [SOURCES]
            for word in OUTSIDE if word in path.read_text(errors="replace")]
    assert not hits, hits


@pytest.mark.parametrize("key", CODE_SOURCES)
def test_code_sources_name_repository_commit_and_files(key):
    entry = " ".join(_entries()[key].split())
    assert re.search(r"`[\w.-]+/[\w.-]+` at commit `[0-9a-f]{40}`", entry), entry
    assert re.search(r"`[\w./-]+\.(py|cu|sh)`", entry), entry


def test_every_reference_source_names_its_sources_md_entry():
    doc = yaml.safe_load((ROOT / "nasa_lib/report/paper_reference.yaml").read_text())
    defined = set(defined_keys(SOURCES.read_text()))
    for name, src in doc["sources"].items():
        keys = cited_keys(" ".join(src["cite"].split()))
        assert keys and keys <= defined, (name, src["cite"])
    for name, value in doc["values"].items():
        assert value["source"] in doc["sources"], name
