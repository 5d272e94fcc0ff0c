"""Settings of the transform stage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from jumin.core.duck import DuckConfig

#: snapshots sort national volumes: a lower limit spills to disk instead of growing the worker
#: (10M history rows: ~2.4 GiB peak RSS, about as fast as with 4 GB)
SNAPSHOT_DUCK = DuckConfig(memory_limit="2GB")

#: reconciliation joins the national 住基 with every 宛名 of the 基準日
RECONCILE_DUCK = DuckConfig(memory_limit="6GB")


#: names of the blocking rules of transform.reconcile.link_model.BLOCKING used by default
LINK_BLOCKING = (
    "birth_uji_kanji",
    "birth_na_kanji",
    "birth_uji_kana",
    "birth_na_kana",
    "swapped_uji_kanji",
    "swapped_na_kanji",
    "year_name_kanji",
    "month_day_name_kanji",
    "year_name_kana",
)


@dataclass(frozen=True)
class LinkConfig:
    """Probabilistic linking of 住登外者 (transform/reconcile/link.py, docs/linking.md).

    Weights are match weights (log2 of the Bayes factor, prior included): 0 is even odds,
    each +1 doubles them.
    """

    #: the best candidate at or above this weight, with no hard conflict (生年月日 or 性別)
    #: and no second candidate within ``ambiguity_margin``, is linked ``auto``
    auto_weight: float = 3.0
    #: candidates at or above this weight (and not beaten by an auto link) go to ``review``
    review_weight: float = -2.0
    #: a second candidate this close to the best one makes the 宛名 ambiguous (review)
    ambiguity_margin: float = 4.0
    #: at most this many candidates per 宛名 are kept for review
    top_k: int = 3
    #: blocking rules (names in transform.reconcile.link_model.BLOCKING): a pair is compared when
    #: any of them holds
    blocking: tuple[str, ...] = LINK_BLOCKING
    #: how m is estimated when no model is stored: "counted" (per item, on the 住登外者
    #: paired with the one 住基 person agreeing on every other item, the labelled 住登者 as
    #: prior) or "em" (Splink's expectation maximisation on blocked 住登外者 pairs)
    training: Literal["counted", "em"] = "counted"
    #: EM sessions' blocking rules (SQL over l./r.), each leaves its own columns to the others
    em_blocking: tuple[str, ...] = (
        "l.birth_year = r.birth_year AND l.birth_month = r.birth_month AND l.birth_day = r.birth_day",
        "l.uji_kanji = r.uji_kanji AND l.na_kanji = r.na_kanji",
    )
    #: pairs each EM session samples at most
    em_max_pairs: float = 1e6
    #: labelled 住登者 used at most (a stable sample by record id)
    max_labels: int = 50_000
    #: random pairs for the u probabilities, and the seed of their sample
    u_max_pairs: float = 2e6
    seed: int = 1
    #: also link 住登外者 of different municipalities to each other
    atena_links: bool = True
