"""The rubric: points, limits, rules and hints of every kata (from rubric.toml)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

RUBRIC = files("grader").joinpath("rubric.toml")  # packaged with grader/, found wherever installed


@dataclass(frozen=True)
class KataSpec:
    """One kata as the rubric describes it."""

    name: str
    number: int
    points: int
    teaches: str
    timeout: float
    memory_gb: float
    forbidden: tuple[str, ...]
    hints: tuple[str, ...]
    allowed: tuple[str, ...] = ()  # groups of [allow_groups]; empty: no allow-list
    names: tuple[str, ...] = ()  # the public names it defines (KATAS.md)
    notebook: str = ""  # the course notebook that holds it, without `.ipynb`
    disk_mb: float = 0  # what a worker may write to disk; 0: no limit
    processes: int = 0  # processes and threads a worker may have at once; 0: no limit

    @property
    def allowed_names(self) -> frozenset[str]:
        """Every torch name the kata's own code may call (see rubric.toml); empty: no allow-list."""
        groups = allow_groups()
        return frozenset(name for group in self.allowed for name in groups[group])

    @property
    def filename(self) -> str:
        return f"{self.name}.py"


@cache
def _raw() -> dict:
    """rubric.toml, parsed once."""
    return tomllib.loads(RUBRIC.read_text(encoding="utf-8"))


@cache
def katas() -> dict[str, KataSpec]:
    """Every kata in lesson order, by name."""
    raw = _raw()
    defaults = raw["defaults"]
    specs = {}
    for number, (name, entry) in enumerate(raw["katas"].items(), start=1):
        specs[name] = KataSpec(
            name=name,
            number=number,
            points=int(entry["points"]),
            teaches=entry["teaches"],
            timeout=float(entry.get("timeout", defaults["timeout"])),
            memory_gb=float(entry.get("memory_gb", defaults["memory_gb"])),
            forbidden=tuple(entry.get("forbidden", ())),
            hints=tuple(entry.get("hints", ())),
            allowed=tuple(entry.get("allowed", ())),
            names=tuple(entry.get("names", ())),
            notebook=str(entry.get("notebook", "")),
            disk_mb=float(entry.get("disk_mb", defaults["disk_mb"])),
            processes=int(entry.get("processes", defaults["processes"])),
        )
        unknown = [g for g in specs[name].allowed if g not in raw.get("allow_groups", {})]
        if unknown:
            raise ValueError(f"rubric.toml: katas.{name}.allowed names unknown groups {unknown}")
    check_total(specs, int(defaults.get("total_points", TOTAL)))
    return specs


TOTAL = 100  # what the katas' points add up to, unless rubric.toml's [defaults] states `total_points`


def check_total(specs: dict[str, KataSpec], total: int) -> None:
    """ValueError unless the katas' points add up to `total`: a typo must not grade out of 102."""
    points = sum(spec.points for spec in specs.values())
    if points != total:
        each = ", ".join(f"{s.name} {s.points}" for s in specs.values())
        raise ValueError(
            f"rubric.toml: the katas' points add up to {points}, not {total} ({each}); fix them, or state "
            f"another total with `total_points = {points}` under [defaults]"
        )


@cache
def allow_groups() -> dict[str, tuple[str, ...]]:
    """Group name -> torch names, from rubric.toml's [allow_groups]."""
    raw = _raw()
    return {group: tuple(names) for group, names in raw.get("allow_groups", {}).items()}


def kata(name: str) -> KataSpec:
    """The spec of one kata; ValueError naming the known katas otherwise."""
    try:
        return katas()[name]
    except KeyError:
        known = ", ".join(katas())
        raise ValueError(f"unknown kata {name!r}; the katas are: {known}") from None


def max_score() -> int:
    return sum(spec.points for spec in katas().values())
