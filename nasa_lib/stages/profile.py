"""Profiles: overlays on ``params.yaml`` holding only the keys they change.

    python -m nasa_lib.stages.profile NAME            # params.yaml <- params.yaml + profiles/NAME.yaml
    python -m nasa_lib.stages.profile NAME --out F    # write the merged file to F instead
    git checkout params.yaml                          # back to the embedded default

Merge rule: a section of the overlay replaces only the keys it names; the run tables ``runs``,
``baselines`` and ``dance_runs`` (and ``profile``) are replaced whole, so a profile can run fewer
searches.  A profile may begin with ``extends: <profile>``: that one is applied first (the
CIFAR-100 profile is the CIFAR-10 one on another data set).  The merged file is checked by the strict loader before it is written, and it keeps
``params.yaml``'s comments (ruamel round trip).
"""
from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import yaml

from .params import PARAMS_FILE, ParamsError, parse_params

PROFILES_DIR = "profiles"
REPLACED_WHOLE = ("profile", "runs", "baselines", "dance_runs")


def profile_path(name: str, root=".") -> Path:
    path = Path(root) / PROFILES_DIR / f"{name}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in (Path(root) / PROFILES_DIR).glob("*.yaml"))
        raise ParamsError(f"profile {name!r} is not known; valid profiles: {', '.join(known)}")
    return path


def merge(base: dict, overlay: dict) -> dict:
    """``base`` with ``overlay`` applied (see the module docstring); ``base`` is modified in place
    (a ruamel mapping keeps its comments)."""
    if not isinstance(overlay, dict):
        raise ParamsError("a profile must be a mapping of params.yaml sections")
    for key, value in overlay.items():
        if key not in base:
            raise ParamsError(f"{key} is not a section of params.yaml; a profile only overrides existing sections")
        if key in REPLACED_WHOLE or not isinstance(value, dict):
            base[key] = value
            continue
        for sub, v in value.items():
            if sub not in base[key]:
                raise ParamsError(f"{key}.{sub} is not a parameter; valid keys of {key}: {', '.join(base[key])}")
            base[key][sub] = v
    return base


def overlays(name: str, root=".", _seen=()) -> list[dict]:
    """The overlays of profile ``name``, base first (following ``extends``)."""
    if name in _seen:
        raise ParamsError(f"profile {name!r} extends itself (through {' -> '.join(_seen)})")
    overlay = yaml.safe_load(profile_path(name, root).read_text()) or {}
    if not isinstance(overlay, dict):
        raise ParamsError(f"profiles/{name}.yaml must be a mapping of params.yaml sections")
    parent = overlay.pop("extends", None)
    return ([*overlays(parent, root, (*_seen, name))] if parent else []) + [overlay]


def merged_text(name: str, root=".") -> str:
    """The text of ``params.yaml`` with profile ``name`` applied, checked."""
    from ruamel.yaml import YAML
    rt = YAML()
    rt.preserve_quotes = True
    rt.width = 120
    base = rt.load((Path(root) / PARAMS_FILE).read_text())
    for overlay in overlays(name, root):
        merge(base, overlay)
    buf = io.StringIO()
    rt.dump(base, buf)
    text = buf.getvalue()
    parse_params(yaml.safe_load(text), source=f"params.yaml + profiles/{name}.yaml")
    return text


def apply_profile(name: str, root=".", out=None) -> Path:
    out = Path(out) if out is not None else Path(root) / PARAMS_FILE
    text = merged_text(name, root)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(text)
    tmp.replace(out)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Apply a profile overlay to params.yaml.")
    parser.add_argument("name", help="a file profiles/<name>.yaml")
    parser.add_argument("--out", default=None, help="write here instead of params.yaml")
    args = parser.parse_args(argv)
    try:
        out = apply_profile(args.name, out=args.out)
    except ParamsError as err:
        print(f"params error: {err}", file=sys.stderr)
        return 2
    print(f"{out}: profile {args.name} applied (git checkout params.yaml returns to the embedded default)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
