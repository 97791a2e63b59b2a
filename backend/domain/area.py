"""The company's service area (config/service_area.yaml): cities and districts served, and which
districts are next to which (the distance rule matching uses: no geocoder, no coordinates)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from backend.domain.places import canonical_city, canonical_district, city_of_district, districts_of, parse


@dataclass(frozen=True)
class ServiceArea:
    cities: tuple[str, ...] = ()  # canonical names (北京市); empty: no limit
    districts: dict[str, frozenset[str]] = field(default_factory=dict)  # city → served; absent: all
    adjacent: dict[str, dict[str, frozenset[str]]] = field(default_factory=dict)  # city → district → next to it

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ServiceArea:
        """Names may be short or English (朝阳, Chaoyang); they are stored canonical. Unknown keys,
        cities or districts are errors naming the value."""
        unknown = sorted(set(raw) - {"cities", "adjacency"})
        if unknown:
            raise ValueError(f"unknown key(s) {', '.join(unknown)}; known: cities, adjacency")
        spec = raw.get("cities") or {}
        if isinstance(spec, list):
            spec = {c: None for c in spec}
        if not isinstance(spec, dict):
            raise ValueError("cities must be a list of city names or a mapping city → {districts: [...]}")
        cities: list[str] = []
        districts: dict[str, frozenset[str]] = {}
        for name, opts in spec.items():
            city = _city(name)
            cities.append(city)
            opts = opts or {}
            if not isinstance(opts, dict) or set(opts) - {"districts"}:
                raise ValueError(f"cities.{name}: only 'districts' may be given")
            if opts.get("districts"):
                districts[city] = frozenset(_district(city, d, f"cities.{name}") for d in opts["districts"])
        adjacent: dict[str, dict[str, set[str]]] = {}
        for name, table in (raw.get("adjacency") or {}).items():
            city = _city(name)
            if not isinstance(table, dict):
                raise ValueError(f"adjacency.{name} must map a district to the list of districts next to it")
            pairs = adjacent.setdefault(city, {})
            for d, nexts in table.items():
                a = _district(city, d, f"adjacency.{name}")
                for n in nexts or []:
                    b = _district(city, n, f"adjacency.{name}.{d}")
                    if a != b:  # next-to is symmetric: one direction in the file is enough
                        pairs.setdefault(a, set()).add(b)
                        pairs.setdefault(b, set()).add(a)
        return cls(tuple(cities), districts,
                   {c: {d: frozenset(n) for d, n in t.items()} for c, t in adjacent.items()})

    @property
    def only_city(self) -> str | None:
        return self.cities[0] if len(self.cities) == 1 else None

    def covers(self, city: str | None, district: str | None = None) -> bool:
        """Is an address in this city and district served? An unknown part is given the benefit of
        the doubt (the dialogue asks for the city first when it matters)."""
        if not self.cities or city is None:
            return True
        if city not in self.cities:
            return False
        served = self.districts.get(city)
        return served is None or district is None or district in served

    def near(self, city: str | None, a: str | None, b: str | None) -> bool:
        """Are districts ``a`` and ``b`` of ``city`` next to each other (per the adjacency table)?"""
        if not (a and b) or a == b:
            return False
        return b in self.adjacent.get(city or "", {}).get(a, frozenset())

    def next_to(self, city: str | None, district: str | None) -> frozenset[str]:
        return self.adjacent.get(city or "", {}).get(district or "", frozenset())

    def locate(self, address: str | None, city: str | None = None,
               district: str | None = None) -> tuple[str | None, str | None]:
        """(city, district) of a job, canonical: the given ones win over what the address says; a
        district alone names its city when one served (or tabled) city has it; with one city served,
        an address that names none is in it."""
        place = parse(address) if address else None
        city = canonical_city(city) or (place.city if place else None)
        district = canonical_district(city, district) if district else (place.district if place else None)
        city = city or self.city_of(district) or city_of_district(district) or self.only_city
        return city, district

    def city_of(self, district: str | None) -> str | None:
        """The served city a bare district belongs to, when exactly one served city has it."""
        owners = [c for c in self.cities if district and district in districts_of(c)]
        return owners[0] if len(owners) == 1 else None


def _city(name: Any) -> str:
    city = canonical_city(str(name))
    if city is None:
        raise ValueError(f"unknown city {name!r} (write it as 北京市, 北京 or Beijing)")
    return city


def _district(city: str, name: Any, where: str) -> str:
    d = canonical_district(city, str(name))
    if districts_of(city) and d not in districts_of(city):
        raise ValueError(f"{where}: {name!r} is not a district of {city}")
    return str(d)
