"""The papers' reference values (``paper_reference.yaml``): loaded, checked, and rendered.

Every value names its source; every claim names the sources its figure comes from.  A claim's
``figure`` is a text in which ``{name}`` stands for ``values.<name>.value``, so each number the
report prints for a paper comes from this one cited file.
"""
from __future__ import annotations

import re
import string
from dataclasses import dataclass
from pathlib import Path

import yaml

REFERENCE_FILE = Path(__file__).with_name("paper_reference.yaml")
PAPERS = ("NASA", "DANCE")


@dataclass(frozen=True)
class PaperClaim:
    id: str
    paper: str
    statement: str
    figure_template: str
    sources: tuple

    def figure(self, values: dict) -> str:
        """The figure text with every ``{name}`` replaced by the number from the reference file."""
        return self.figure_template.format(**{k: fmt_reference(v["value"]) for k, v in values.items()})


@dataclass(frozen=True)
class Reference:
    sources: dict          # key -> {cite, url?}
    values: dict           # name -> {value, source, what}
    claims: tuple          # PaperClaim, in report order
    path: str

    def claim(self, claim_id: str) -> PaperClaim:
        for c in self.claims:
            if c.id == claim_id:
                return c
        raise ValueError(f"claim {claim_id!r} is not in {self.path}; valid ids: {', '.join(c.id for c in self.claims)}")

    def value(self, name: str) -> float:
        if name not in self.values:
            raise ValueError(f"value {name!r} is not in {self.path}; valid names: {', '.join(self.values)}")
        return self.values[name]["value"]

    def citation(self, key: str) -> str:
        src = self.sources[key]
        return " ".join(src["cite"].split()) + (f" <{src['url']}>" if src.get("url") else "")


def fmt_reference(value) -> str:
    """Reference numbers are printed as written in the file (no rounding)."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def _fail(path, where, expected, got):
    raise ValueError(f"{path}: {where} must be {expected}, got {got!r}")


def parse_reference(doc, path: str = "<string>") -> Reference:
    """Check the structure of a reference document; one-line ``ValueError`` naming the bad field."""
    if not isinstance(doc, dict):
        _fail(path, "the document", "a mapping with sources, values and claims", doc)
    for key in ("sources", "values", "claims"):
        if key not in doc:
            _fail(path, key, "present", None)
    sources = doc["sources"]
    if not isinstance(sources, dict) or not sources:
        _fail(path, "sources", "a non-empty mapping", sources)
    for key, src in sources.items():
        if not isinstance(src, dict) or not isinstance(src.get("cite"), str) or not src["cite"].strip():
            _fail(path, f"sources.{key}.cite", "a non-empty citation", src)
    values = doc["values"]
    if not isinstance(values, dict):
        _fail(path, "values", "a mapping", values)
    for name, entry in values.items():
        if not re.fullmatch(r"[a-z][a-z0-9_]*", str(name)):
            _fail(path, f"values.{name}", "a lower-case identifier", name)
        if not isinstance(entry, dict):
            _fail(path, f"values.{name}", "a mapping with value, source and what", entry)
        v = entry.get("value")
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            _fail(path, f"values.{name}.value", "a number", v)
        if entry.get("source") not in sources:
            _fail(path, f"values.{name}.source", f"one of {', '.join(sources)}", entry.get("source"))
        if not isinstance(entry.get("what"), str) or not entry["what"].strip():
            _fail(path, f"values.{name}.what", "a description", entry.get("what"))
    claims, seen = [], set()
    if not isinstance(doc["claims"], list) or not doc["claims"]:
        _fail(path, "claims", "a non-empty list", doc["claims"])
    for i, c in enumerate(doc["claims"]):
        where = f"claims[{i}]"
        if not isinstance(c, dict):
            _fail(path, where, "a mapping", c)
        for key in ("id", "paper", "statement", "figure", "sources"):
            if key not in c:
                _fail(path, f"{where}.{key}", "present", None)
        if c["id"] in seen:
            _fail(path, f"{where}.id", "unique", c["id"])
        seen.add(c["id"])
        if c["paper"] not in PAPERS:
            _fail(path, f"{where}.paper", f"one of {', '.join(PAPERS)}", c["paper"])
        if not isinstance(c["sources"], list) or not c["sources"] or any(s not in sources for s in c["sources"]):
            _fail(path, f"{where}.sources", f"a non-empty list of {', '.join(sources)}", c["sources"])
        names = {f[1] for f in string.Formatter().parse(c["figure"]) if f[1] is not None}
        unknown = sorted(n for n in names if n not in values)
        if unknown:
            _fail(path, f"{where}.figure", f"a text whose {{names}} are values ({', '.join(values)})", unknown)
        claims.append(PaperClaim(c["id"], c["paper"], " ".join(c["statement"].split()),
                                 " ".join(c["figure"].split()), tuple(c["sources"])))
    return Reference(sources, values, tuple(claims), path)


def load_reference(path=None) -> Reference:
    path = Path(path) if path is not None else REFERENCE_FILE
    return parse_reference(yaml.safe_load(path.read_text()), str(path))
