"""A delivery contract, as typed data: what one common SaaS receives, for what, on what basis.

Pure data and pure functions, no I/O: ``load.deliver.contract`` reads and checks the ODCS
files and builds these, ``expectations.contract`` turns them into the output's checks, the
delivery stage filters and projects by them. The ODCS mapping is in ``docs/contracts.md``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

Delivery = Literal["full", "delta"]
DELIVERY_MODES: tuple[Delivery, ...] = ("full", "delta")
QualityKind = Literal["not_null", "unique", "in_set", "row_count"]

#: the pseudonymous person id every delivery carries besides the contract's items
PERSON_ID = "person_id"
#: layouts whose items a contract may ask for (支援措置 and 名寄せ判定 are never delivered)
DELIVERABLE_LAYOUTS = ("atena", "juki")
#: items computed at delivery: romaji → (Japanese label, the layout item it is computed from)
DERIVED_ITEMS: dict[str, tuple[str, str]] = {"age": ("年齢", "seinengappi")}
#: 世帯 items (households): asked for only by a contract with ``households``
HOUSEHOLD_ITEMS = ("setaibango", "zokugara")
#: names of the laws that allow an item or a flag; a legal basis naming one of them counts
BANGOHO = ("番号法", "行政手続における特定の個人を識別するための番号の利用等に関する法律")
JUKIHO = ("住基法", "住民基本台帳法")


@dataclass(frozen=True)
class ContractItem:
    """One column of the delivered dataset: a layout item (or a derived one such as ``age``)."""

    #: romaji of the layout item (API name), e.g. ``shimei``
    name: str
    #: its Japanese label (the layout's 項目名), e.g. 氏名
    label_ja: str
    #: the layout it comes from (``atena`` or ``juki``)
    source: str
    #: the output must have a value in every row (ODCS ``required``)
    required: bool = False


@dataclass(frozen=True)
class RowFilter:
    """Which persons a delivery holds. Ages are on the 基準日 (see :func:`age_on`)."""

    min_age: int | None = None
    max_age: int | None = None
    #: 全国地方公共団体コード of the municipalities delivered; None = every municipality
    lg_codes: tuple[str, ...] | None = None
    #: 住登区分: "1" 住登者, "2" 住登外者
    jutokubun: tuple[str, ...] = ("1",)
    #: also deliver the 世帯主 of every selected person's 世帯 (needs ``households``), e.g. the
    #: parent of a child selected by age; the ages of the output are then not bounded
    household_heads: bool = False


@dataclass(frozen=True)
class QualityRule:
    """A quality rule of the output (ODCS ``quality``, library metrics).

    ``not_null``/``unique``/``in_set`` are about ``column``; ``row_count`` about the table,
    with inclusive bounds ``min_value``/``max_value`` (None = unbounded).
    """

    kind: QualityKind
    column: str | None = None
    min_value: int | None = None
    max_value: int | None = None
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class Contract:
    """One SaaS's delivery contract (one versioned ODCS file)."""

    id: str
    version: str
    #: the dataset's title (ODCS ``name``)
    title: str
    #: the consumer: the SaaS team or system receiving the data
    saas: str
    #: 利用目的
    purpose: str
    #: 根拠法令
    legal_basis: tuple[str, ...]
    items: tuple[ContractItem, ...]
    row_filter: RowFilter
    #: rows with 他業務参照不可フラグ = 1 may be delivered (only with a 住基法 basis)
    allow_sansho_fuka: bool
    #: 個人番号 may be an item (only with a 番号法 basis)
    allow_kojinbango: bool
    #: the legal basis (one of ``legal_basis``) under which addresses of persons under
    #: 支援措置 are released; None = they are suppressed
    dv_address_basis: str | None
    #: residents may opt out of this service (the opt-out registry is honoured)
    opt_out: bool
    #: 世帯 items (世帯番号, 続柄) are asked for
    households: bool
    delivery: Delivery
    quality: tuple[QualityRule, ...] = ()
    #: the SaaS's account on the landing zone (``saas_<account>``, its read-only outbox); ""
    #: = the contract id
    saas_account: str = ""

    @property
    def account(self) -> str:
        """The SaaS account its deliveries are published to."""
        return self.saas_account or self.id

    @property
    def columns(self) -> tuple[str, ...]:
        """The delivered columns in order: the person id, then the items."""
        return (PERSON_ID, *(i.name for i in self.items))

    def item(self, name: str) -> ContractItem:
        """The item called ``name``."""
        for i in self.items:
            if i.name == name:
                return i
        raise KeyError(f"{self.id}: no item {name!r}")


def names_law(basis: tuple[str, ...], law: tuple[str, ...]) -> bool:
    """True when one of the bases names one of the law's names (e.g. :data:`BANGOHO`)."""
    return any(name in b for b in basis for name in law)


def years_before(day: dt.date, years: int) -> dt.date:
    """The same day ``years`` earlier; 2月29日 becomes 2月28日 in a common year."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def age_on(birth: dt.date, kijunbi: dt.date) -> int:
    """Age on ``kijunbi`` as 年齢計算ニ関スル法律 counts it and administration applies it: an age is
    reached on the day before the birthday (介護保険's 「65歳に達した日」), so one born on 2月29日
    reaches it on 2月28日 and one born on 3月1日 on the last day of February."""
    day = kijunbi + dt.timedelta(days=1)
    age = day.year - birth.year
    return age if years_before(day, age) >= birth else age - 1


def birth_bounds(row_filter: RowFilter, kijunbi: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """(earliest, latest) 生年月日 of persons the age filter keeps on ``kijunbi`` (ages as
    :func:`age_on`), inclusive; None where unbounded. ``min_age`` bounds the latest birth date,
    ``max_age`` the earliest."""
    day = kijunbi + dt.timedelta(days=1)
    latest = None if row_filter.min_age is None else years_before(day, row_filter.min_age)
    earliest = None if row_filter.max_age is None else years_before(day, row_filter.max_age + 1) + dt.timedelta(days=1)
    return earliest, latest
