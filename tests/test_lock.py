"""requirements.lock (what scripts/setup.sh installs) agrees with pyproject.toml and with this venv: every
declared dependency is locked at a version its specifier admits, and the venv runs exactly the locked ones."""

from __future__ import annotations

import tomllib
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .services import ROOT


def _locked() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = version.split(";")[0].strip()
    return pins


def test_every_dependency_is_locked_within_its_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    locked = _locked()
    for text in declared:
        requirement = Requirement(text)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is not in requirements.lock: re-run uv pip compile (scripts/setup.sh says how)"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"requirements.lock has {name}=={locked[name]}, outside pyproject's {requirement.specifier}"
        )


def test_this_venv_runs_the_locked_versions() -> None:
    for name, version in _locked().items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue  # a dependency only some platforms or Python versions need (e.g. async-timeout)
        assert installed == version, f"{name} {installed} installed, {version} locked: run scripts/setup.sh"
