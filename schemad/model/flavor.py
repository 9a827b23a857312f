"""Flavor: the vendor and version of a server, which canonical DDL depends on.

Vendor/version differences live here as data and predicates (like a sqlglot
dialect), not as scattered `if` statements in the renderers.  No I/O.
"""

from __future__ import annotations

from enum import StrEnum

from schemad import lazyre
from schemad.records import dataclass


class Vendor(StrEnum):
    MYSQL = "mysql"
    MARIADB = "mariadb"
    PERCONA = "percona"
    UNKNOWN = "unknown"


_VERSION_RE = lazyre.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?")


@dataclass(frozen=True, slots=True, order=True)
class Flavor:
    vendor: Vendor
    major: int
    minor: int
    patch: int = 0

    @classmethod
    def parse(cls, text: str) -> Flavor:
        """Parse a `.skeema` flavor value such as `mariadb:10.11` or `mysql:8.0.36`."""
        vendor_text, _, version = text.strip().partition(":")
        try:
            vendor = Vendor(vendor_text.lower())
        except ValueError:
            vendor = Vendor.UNKNOWN
        m = _VERSION_RE.match(version)
        if not m:
            return cls(vendor, 0, 0)
        return cls(vendor, int(m[1]), int(m[2]), int(m[3] or 0))

    @classmethod
    def from_server(cls, version: str, version_comment: str = "") -> Flavor:
        """Detect the flavor from `@@version` and `@@version_comment`."""
        m = _VERSION_RE.match(version)
        major, minor, patch = (int(m[1]), int(m[2]), int(m[3] or 0)) if m else (0, 0, 0)
        low = (version + " " + version_comment).lower()
        if "mariadb" in low:
            vendor = Vendor.MARIADB
        elif "percona" in low:
            vendor = Vendor.PERCONA
        else:
            vendor = Vendor.MYSQL
        return cls(vendor, major, minor, patch)

    def __str__(self) -> str:
        """The `.skeema` form: vendor:major.minor."""
        return f"{self.vendor.value}:{self.major}.{self.minor}"

    @property
    def is_mariadb(self) -> bool:
        return self.vendor is Vendor.MARIADB

    @property
    def is_mysql(self) -> bool:
        """MySQL or a MySQL variant (Percona Server)."""
        return self.vendor in (Vendor.MYSQL, Vendor.PERCONA)

    def min_mariadb(self, major: int, minor: int = 0, patch: int = 0) -> bool:
        return self.is_mariadb and (self.major, self.minor, self.patch) >= (major, minor, patch)

    def min_mysql(self, major: int, minor: int = 0, patch: int = 0) -> bool:
        return self.is_mysql and (self.major, self.minor, self.patch) >= (major, minor, patch)

    # --- rendering rules -------------------------------------------------

    @property
    def int_display_width(self) -> bool:
        """SHOW CREATE prints int display widths (`int(11)`); MySQL 8.0.19+ dropped them."""
        return not self.min_mysql(8, 0, 19)

    @property
    def always_shows_table_collation(self) -> bool:
        """MariaDB 10.11+ prints `COLLATE=` for the table even when it is the charset default."""
        return self.min_mariadb(10, 11) or self.min_mysql(8, 0)


MARIADB_10_11 = Flavor(Vendor.MARIADB, 10, 11)
