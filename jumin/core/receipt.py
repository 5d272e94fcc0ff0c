"""受付結果 (receipts): one per upload set, as JSON and as a Japanese text report.

In every receipt ``input == accepted + rejected``. Errors are listed by file, original line
number and item; the full list of rejected rows is in the quarantine dataset, the receipt
lists the first :data:`MAX_LISTED` findings and counts all of them.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NotRequired, TypedDict

from jumin.core.errors import ADVICE_JA, Finding, message
from jumin.core.files import atomic_write_bytes
from jumin.core.gaiji import GaijiUse
from jumin.core.lake import Lake
from jumin.core.layouts import LAYOUTS
from jumin.core.municipalities import name_of
from jumin.core.parsed import FileRows

MAX_LISTED = 1000

#: what happened to an upload set, as its receipt says
ReceiptStatus = Literal["accepted", "accepted_with_errors", "rejected", "incomplete"]

STATUS_JA: dict[ReceiptStatus, str] = {
    "accepted": "受付完了",
    "accepted_with_errors": "一部受付 (エラー行あり)",
    "rejected": "受付不可 (ファイル全体を差し戻し)",
    "incomplete": "受付保留 (ファイルが揃っていません)",
}


class ReceiptCounts(TypedDict):
    """Rows of a set: ``input == accepted + rejected``; warnings do not reject a row."""

    input: int
    accepted: int
    rejected: int
    warnings: int


class Located(TypedDict):
    """Where a finding is, as far as known (empty fields left out)."""

    code: str
    file: NotRequired[str]
    line: NotRequired[int]
    item: NotRequired[str]
    value: NotRequired[str]
    detail: NotRequired[str]


class ListedFinding(Located):
    """A finding as the receipt lists it, with its messages in both languages."""

    message_ja: str
    message_en: str


class ReceiptData(TypedDict):
    """The receipt's JSON (``<set_id>.json``), keys in the order written."""

    set_id: str
    manifest: str
    lg_code: str
    dantai_mei: str
    layout: str
    kijunbi: str
    status: ReceiptStatus
    status_ja: str
    counts: ReceiptCounts
    files: list[FileRows]
    findings_total: int
    findings_by_code: dict[str, int]
    findings_by_item: dict[str, int]
    findings: list[ListedFinding]
    gaiji: dict[str, GaijiUse]
    data_docs: str


def listed(f: Finding) -> ListedFinding:
    """``f`` as a receipt lists it: its non-empty fields in field order, then the messages."""
    where: Located = {"code": f.code}
    if f.file:
        where["file"] = f.file
    if f.line is not None:
        where["line"] = f.line
    if f.item:
        where["item"] = f.item
    if f.value:
        where["value"] = f.value
    if f.detail:
        where["detail"] = f.detail
    return {**where, "message_ja": message(f.code, "ja"), "message_en": message(f.code, "en")}


@dataclass
class Receipt:
    """What happened to one upload set."""

    set_id: str
    manifest: str
    lg_code: str
    layout: str
    kijunbi: str
    input: int
    accepted: int
    rejected: int
    findings: list[Finding] = field(default_factory=list)
    files: list[FileRows] = field(default_factory=list)
    data_docs: str = ""
    #: the set is not complete yet: nothing was taken in, the receipt says what is missing
    pending: bool = False
    #: 外字 replaced by the municipality's map: U+XXXX → {"to": text, "count": n}
    gaiji: dict[str, GaijiUse] = field(default_factory=dict)

    @property
    def status(self) -> ReceiptStatus:
        if self.pending:
            return "incomplete"
        if (self.accepted == 0 and self.input > 0) or any(f.code.startswith("F") for f in self.findings):
            return "rejected"
        return "accepted_with_errors" if self.rejected else "accepted"

    def to_dict(self) -> ReceiptData:
        """The receipt as JSON-ready data (deterministic order)."""
        if self.input != self.accepted + self.rejected:
            raise AssertionError(f"receipt {self.set_id}: counts do not add up")
        by_code = Counter(f.code for f in self.findings)
        by_item = Counter(f.item for f in self.findings if f.item)
        return {
            "set_id": self.set_id,
            "manifest": self.manifest,
            "lg_code": self.lg_code,
            "dantai_mei": name_of(self.lg_code),
            "layout": self.layout,
            "kijunbi": self.kijunbi,
            "status": self.status,
            "status_ja": STATUS_JA[self.status],
            "counts": {
                "input": self.input,
                "accepted": self.accepted,
                "rejected": self.rejected,
                "warnings": sum(1 for f in self.findings if f.is_warning),
            },
            "files": self.files,
            "findings_total": len(self.findings),
            "findings_by_code": dict(sorted(by_code.items())),
            "findings_by_item": dict(sorted(by_item.items())),
            "findings": [listed(f) for f in self.findings[:MAX_LISTED]],
            "gaiji": self.gaiji,
            "data_docs": self.data_docs,
        }


def is_final(path: Path) -> bool:
    """True when a receipt exists and is not the "incomplete" one written while a set waits
    for its files: the set was processed (parsed or rejected)."""
    return path.exists() and json.loads(path.read_text(encoding="utf-8"))["status"] != "incomplete"


def render_ja(d: ReceiptData) -> str:
    """A plain-text report in Japanese for municipal staff."""
    layout = LAYOUTS.get(str(d["layout"]))
    item_ja = {i.romaji: i.ja for i in layout.items} if layout else {}
    c = d["counts"]
    lines = [
        f"受付結果 ({d['status_ja']})",
        f"団体: {d['dantai_mei']} ({d['lg_code']})",
        f"送付ファイル一覧: {d['manifest']}  受付番号: {d['set_id']}",
        f"レイアウト: {d['layout']}  基準日: {d['kijunbi']}",
        f"件数: 入力 {c['input']} = 受付 {c['accepted']} + 差戻し {c['rejected']}  (警告 {c['warnings']})",
        "",
    ]
    for cp, g in d.get("gaiji", {}).items():
        lines.append(f"外字置換: {cp} → 「{g['to']}」 {g['count']}件")
    if d.get("gaiji"):
        lines.append("")
    if not d["findings"]:
        lines.append("エラーはありません。")
    else:
        lines.append(f"エラー・警告 {d['findings_total']} 件 (先頭 {len(d['findings'])} 件を表示):")
        for f in d["findings"]:
            where = f.get("file", "")
            if "line" in f:
                where += f" {f['line']}行目"
            item = f.get("item", "")
            if item:
                where += f" 項目「{item_ja.get(item, item)}」"
            value = f" 値「{f['value']}」" if "value" in f else ""
            hint = f" ({f['detail']})" if "detail" in f else ""
            lines.append(f"- [{f['code']}] {where}: {f['message_ja']}{hint}{value}")
            if f["code"] in ADVICE_JA:
                lines.append(f"  → {ADVICE_JA[f['code']]}")
    lines.append("")
    return "\n".join(lines)


def write_receipt(receipt: Receipt, path: Path) -> ReceiptData:
    """Write ``<set_id>.txt`` and then ``<set_id>.json`` atomically; returns the JSON data.

    The JSON goes last: it is what marks a set as processed (:func:`is_final`), so a process
    killed between the two writes leaves no JSON without its text, and the rerun writes both.
    """
    d = receipt.to_dict()
    atomic_write_bytes(Lake.receipt_text(path), render_ja(d).encode())
    atomic_write_bytes(path, (json.dumps(d, ensure_ascii=False, indent=2) + "\n").encode())
    return d
