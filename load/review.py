"""Review files of 名寄せ candidates (名寄せ候補) for municipal staff, written into
``Lake.review_folder`` and returned to the outbox by :func:`extract.outbox.return_review_files`.

One row per candidate (band ``review``; several per 宛名): the municipality's own record beside
it, and of the candidate only what the decision needs — 氏名, フリガナ, 生年月日, 性別, the
municipality of its address and whether 町字 and 番地 agree with the own record, never its street
address. For a candidate under 支援措置 (``shien``) not even that: its address columns say 非表示,
reasons about addresses are left out, and when it is another municipality's 宛名 its 候補番号 is
masked (:func:`transform.reconcile.decisions.mask_number`), since ``<lg_code>-`` names the
municipality.

The columns are the ``nayose`` layout's items (宛名番号, 候補番号, 判定, 判定者, 判定日, 理由) with
its display columns (:data:`jumin.core.layouts.REVIEW_DISPLAY`) between them, so the filled-in
file is an upload set's data file as it is: the parser skips the display columns.

- ``nayose_koho_<YYYYMMDD>.xlsx``: sheet 名寄せ候補 with a frozen header row, a 一致/不一致/保留
  dropdown on 判定, 判定者/判定日/理由 empty to fill, text cells (leading zeros stay), a sheet
  説明 with the steps, and 未反映の判定 when decisions could not be applied;
- ``nayose_koho_<YYYYMMDD>.csv``: the same rows, UTF-8 with BOM, CRLF, RFC 4180.

The same inputs give the same bytes: the workbook is dated the 基準日, rows are ordered by
(宛名番号, 順位, 候補番号) and nothing reads the clock.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

from jumin.core import duck
from jumin.core.files import atomic_create_bytes, atomic_write_bytes, remove_stale_temps
from jumin.core.lake import Lake
from jumin.core.layouts import HANTEI, NAYOSE, REVIEW_DISPLAY, SEIBETSU
from jumin.core.municipalities import name_of
from jumin.core.xlsx import column_width, workbook_bytes
from transform.reconcile.decisions import candidate_number_sql, mask_number

log = logging.getLogger(__name__)
Header = Literal["ja", "en"]

#: the columns a clerk fills in
FILL_IN = ("hantei", "hanteisha", "hanteibi", "riyu")
#: the file's columns: layout items (romaji) and display columns (their English id), in order —
#: the own record and the rank after 宛名番号, the candidate after 候補番号, then what to fill in
COLUMNS: tuple[str, ...] = (
    "atenabango",
    *(c.en for c in REVIEW_DISPLAY[:6]),
    "kohobango",
    *(c.en for c in REVIEW_DISPLAY[6:]),
    *FILL_IN,
)
#: the 判定 a review file offers (解除 undoes a 一致, which is no longer a review candidate)
CHOICES = ("一致", "不一致", "保留")
HIDDEN = "非表示"
UNKNOWN = "不明"
SHEETS = {
    "ja": {"review": "名寄せ候補", "help": "説明", "unmatched": "未反映の判定"},
    "en": {"review": "candidates", "help": "help", "unmatched": "unmatched decisions"},
}

#: how a reason's item reads (the linking model's comparison names); those of addresses are
#: never shown for a candidate under 支援措置, nor any name this table does not know
REASON_ITEMS = {
    "shimei": "氏名",
    "uji": "氏",
    "uji_kanji": "氏",
    "na": "名",
    "na_kanji": "名",
    "kana": "フリガナ",
    "shimei_furigana": "フリガナ",
    "uji_kana": "氏カナ",
    "na_kana": "名カナ",
    "seibetsu": "性別",
    "birth": "生年月日",
    "birth_date": "生年月日",
    "seinengappi": "生年月日",
    "birth_year": "生年",
    "birth_month": "生月",
    "birth_day": "生日",
    "juminhyokodo": "住民票コード",
}
ADDRESS_REASON_ITEMS = {
    "jusho": "住所",
    "address": "住所",
    "jusho_shikuchosonkodo": "市区町村",
    "lg_code": "市区町村",
    "choaza": "町字",
    "banchi": "番地",
}
AGREEMENTS = {
    "exact": "一致",
    "agree": "一致",
    "match": "一致",
    "fuzzy": "類似",
    "similar": "類似",
    "partial": "部分一致",
    "history": "旧情報で一致",
    "different": "不一致",
    "disagree": "不一致",
    "else": "不一致",
    "null": "不明",
    "missing": "不明",
}

HELP_JA = (
    "名寄せ候補の判定のしかた",
    "",
    "1. 「名寄せ候補」シートの各行は、自団体の宛名 (宛名_…) と、その名寄せ候補 (候補_…) の組です。",
    "2. 判定 の列で 一致 / 不一致 / 保留 を選んでください (名寄せ解除は 解除 と入力)。",
    "3. 判定者 (全角) と 判定日 (YYYY-MM-DD) を入力してください。理由 は任意です (全角)。",
    "4. 判定しない行は空欄のまま送ることができます (受付結果に 判定 の必須エラーとして件数が出ます)。",
    "5. 列や行を並べ替えても、表示用の列を削除してもかまいません。宛名番号・候補番号は変更しないでください。",
    "6. このファイルをそのまま (ファイル名も変えずに) マニフェストとともに SFTP の inbox へ送ってください:",
    "   jumin upload nayose_koho_<基準日>.xlsx --layout nayose --kijunbi <基準日> --lg-code <団体コード> --server …",
    "7. 受付結果 (outbox の …receipt.txt) を確認してください。",
    "",
    "候補の住所は、市区町村名と、町字・番地が宛名と一致するかどうかだけを表示します。",
    "支援措置の対象者は住所に関する情報を表示しません (非表示)。",
)
HELP_EN = (
    "How to decide 名寄せ candidates",
    "",
    "1. Each row of the sheet 'candidates' pairs one of your 宛名 (own_...) with a candidate (candidate_...).",
    "2. In hantei choose 一致 (same person) / 不一致 (not the same) / 保留 (undecided); type 解除 to undo a link.",
    "3. Fill in hanteisha (full-width) and hanteibi (YYYY-MM-DD); riyu is optional (full-width).",
    "4. Rows left without hantei may be sent: the receipt counts them as hantei required errors.",
    "5. Keep atenabango and kohobango as they are; rows may be sorted, display columns removed.",
    "6. Upload this file as it is, with its manifest, to the SFTP inbox (jumin upload ... --layout nayose).",
    "7. Read the receipt in the outbox.",
    "",
    "Of a candidate's address only its municipality and whether 町字/番地 agree are shown;",
    "nothing of the address of a person under 支援措置.",
)


def headers(header: Header = "ja") -> list[str]:
    """The header row: Japanese item and display names, or romaji items and English display ids."""
    display = {c.en: c for c in REVIEW_DISPLAY}
    out = []
    for col in COLUMNS:
        if col in display:
            out.append(display[col].ja if header == "ja" else col)
        else:
            item = NAYOSE.item(col)
            out.append(item.ja if header == "ja" else item.romaji)
    return out


def review_key(lake: Lake) -> bytes:
    """The lake's secret behind masked 候補番号, made on first use and never changed."""
    return atomic_create_bytes(lake.review_key(), secrets.token_bytes(32))


def _reasons_text(reasons: list[dict[str, Any]] | None, shien: bool) -> str:
    """``氏: 一致 (+8.1)、名: 一致 (+6.2)``; address reasons (and unknown ones) left out for 支援措置."""
    parts = []
    for r in reasons or []:
        item = str(r.get("item") or "")
        label = REASON_ITEMS.get(item) or (None if shien else ADDRESS_REASON_ITEMS.get(item, item))
        if label is None:
            continue
        agreement = str(r.get("agreement") or "")
        text = f"{label}: {AGREEMENTS.get(agreement, agreement)}"
        if r.get("weight") is not None:
            text += f" ({float(r['weight']):+.1f})"
        parts.append(text)
    return "、".join(parts)


def _agreement_sql(parts: tuple[str, ...]) -> str:
    """SQL: 一致 / 旧住所で一致 / 不一致 / 不明 of the candidate's address ``parts`` (choaza, banchi)
    against the own record's, in the same municipality; 非表示 under 支援措置."""
    same = " AND ".join(f"{{a}}.{p} = o.{p}" for p in ("jusho_shikuchosonkodo", *parts))
    missing = " OR ".join(f"coalesce(o.{p}, '') = '' OR coalesce(k.{p}, '') = ''" for p in parts)
    return (
        f"CASE WHEN c._shien THEN '{HIDDEN}' WHEN o.rec_id IS NULL OR k.rec_id IS NULL OR {missing} "
        f"THEN '{UNKNOWN}' WHEN {same.format(a='k')} THEN '一致' "
        f"WHEN EXISTS (SELECT 1 FROM recs h WHERE h.rec_id = k.rec_id AND h.version > 0 AND {same.format(a='h')}) "
        "THEN '旧住所で一致' ELSE '不一致' END"
    )


def review_rows(candidates: pa.Table, records: pa.Table, lg_code: str, key: bytes) -> list[dict[str, Any]]:
    """The rows of a municipality's review file, by column (:data:`COLUMNS`), in file order;
    with the masked 候補番号 → 候補番号 they stand for under ``_masks``."""
    con = duck.connect()
    cand = candidates if "shien" in candidates.column_names else candidates.append_column(
        "shien", pa.nulls(candidates.num_rows, pa.bool_())
    )  # fmt: skip
    con.register("cand_in", cand)
    con.register("recs", records)
    lg = duck.quote_literal(lg_code)
    sql = f"""
        WITH c AS (
            SELECT *, {candidate_number_sql()} AS _koho, coalesce(shien, false) AS _shien,
                   coalesce(juminhyokodo, target_lg_code || ':' || target_atenabango) AS _rec
            FROM cand_in WHERE band = 'review'
        )
        SELECT c.atenabango, c.rank, c._koho AS kohobango, c.juminhyokodo, c.target_lg_code, c._shien AS shien,
               c.match_probability, c.reasons, c.decision,
               o.shimei AS own_name, o.shimei_furigana AS own_kana, o.seinengappi_text AS own_birth_date,
               o.seibetsu AS own_sex, o.jusho AS own_address,
               k.rec_id IS NOT NULL AS found, k.shimei AS candidate_name, k.shimei_furigana AS candidate_kana,
               k.seinengappi_text AS candidate_birth_date, k.seibetsu AS candidate_sex,
               k.jusho_shikuchosonkodo AS candidate_lg_code,
               {_agreement_sql(("choaza",))} AS candidate_choaza_agrees,
               {_agreement_sql(("choaza", "banchi"))} AS candidate_banchi_agrees
        FROM c
        LEFT JOIN recs o ON o.rec_id = {lg} || ':' || c.atenabango AND o.version = 0
        LEFT JOIN recs k ON k.rec_id = c._rec AND k.version = 0
        ORDER BY c.atenabango, c.rank NULLS LAST, c._koho
    """
    out = []
    missing = 0
    for r in duck.arrow(con, "review_rows", sql).to_pylist():
        shien = bool(r["shien"])
        number = r["kohobango"]
        masked = shien and r["target_lg_code"] is not None and r["target_lg_code"] != lg_code
        missing += not r["found"]
        out.append(
            {
                "atenabango": r["atenabango"],
                "own_name": r["own_name"],
                "own_kana": r["own_kana"],
                "own_birth_date": r["own_birth_date"],
                "own_sex": SEIBETSU.get(r["own_sex"] or "", r["own_sex"]),
                "own_address": r["own_address"],
                "rank": r["rank"],
                "kohobango": mask_number(key, number) if masked else number,
                "_number": number,
                "candidate_kind": "住基" if r["juminhyokodo"] else "宛名",
                "candidate_name": r["candidate_name"],
                "candidate_kana": r["candidate_kana"],
                "candidate_birth_date": r["candidate_birth_date"],
                "candidate_sex": SEIBETSU.get(r["candidate_sex"] or "", r["candidate_sex"]),
                "candidate_municipality": HIDDEN
                if shien
                else (name_of(r["candidate_lg_code"]) if r["candidate_lg_code"] else UNKNOWN),
                "candidate_choaza_agrees": r["candidate_choaza_agrees"],
                "candidate_banchi_agrees": r["candidate_banchi_agrees"],
                "match_probability": r["match_probability"],
                "reasons": _reasons_text(r["reasons"], shien),
                "previous_decision": r["decision"],
                **dict.fromkeys(FILL_IN),
            }
        )
    if missing:
        log.warning("%s: %d review candidates have no record to show (their columns are empty)", lg_code, missing)
    return out


def _cell(row: dict[str, Any], col: str) -> Any:
    value = row[col]
    return "" if value is None else value


def csv_bytes(rows: list[dict[str, Any]], header: Header = "ja") -> bytes:
    """The CSV file: UTF-8 with BOM (for Excel), CRLF, quoted only where RFC 4180 needs it."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers(header))
    for row in rows:
        values = [_cell(row, c) for c in COLUMNS]
        p = COLUMNS.index("match_probability")
        values[p] = "" if row["match_probability"] is None else f"{row['match_probability']:.3f}"
        writer.writerow(values)
    return out.getvalue().encode("utf-8-sig")


def xlsx_bytes(
    rows: list[dict[str, Any]], kijunbi: str, header: Header = "ja", unmatched: pa.Table | None = None
) -> bytes:
    """The workbook (see the module docstring), dated ``kijunbi``."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    names = SHEETS[header]
    wb = Workbook()
    ws = wb.active
    ws.title = names["review"]
    head = headers(header)
    ws.append(head)
    for row in rows:
        ws.append([row[c] for c in COLUMNS])
    last = len(rows) + 1
    bold, shown, fill = Font(bold=True), PatternFill("solid", fgColor="DDDDDD"), PatternFill("solid", fgColor="FFF2CC")
    for i, col in enumerate(COLUMNS, 1):
        letter = get_column_letter(i)
        top = ws.cell(row=1, column=i)
        top.font, top.fill = bold, fill if col in FILL_IN else shown
        top.alignment = Alignment(vertical="center")
        number_format = {"match_probability": "0.000", "rank": "0", "hanteibi": "yyyy-mm-dd"}.get(col, "@")
        for (cell,) in ws.iter_rows(min_row=2, max_row=last, min_col=i, max_col=i):
            cell.number_format = number_format
            if col in FILL_IN:
                cell.fill = fill
        ws.column_dimensions[letter].width = column_width([head[i - 1], *(row[col] for row in rows)])
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{last}"
    hantei = get_column_letter(COLUMNS.index("hantei") + 1)
    choice = DataValidation(
        type="list",
        formula1='"' + ",".join(CHOICES) + '"',
        allow_blank=True,
        showErrorMessage=True,
        errorStyle="warning",
        errorTitle="判定",
        error="一致・不一致・保留 から選んでください (名寄せ解除は 解除)。",
        showInputMessage=True,
        promptTitle="判定",
        prompt=" / ".join(f"{k}: {v}" for k, v in HANTEI.items() if k in CHOICES),
    )
    choice.add(f"{hantei}2:{hantei}{max(last, 2)}")
    ws.add_data_validation(choice)

    guide = wb.create_sheet(names["help"])
    for line in HELP_JA if header == "ja" else HELP_EN:
        guide.append([line])
    guide.column_dimensions["A"].width = 110
    if unmatched is not None and unmatched.num_rows:
        _unmatched_sheet(wb.create_sheet(names["unmatched"]), unmatched, header, get_column_letter)
    return workbook_bytes(wb, dt.datetime.fromisoformat(kijunbi))


#: columns of the 未反映の判定 sheet: (unmatched column, Japanese header)
UNMATCHED_COLUMNS = (
    ("atenabango", "宛名番号"),
    ("kohobango_sent", "候補番号"),
    ("hantei", "判定"),
    ("hanteisha", "判定者"),
    ("hanteibi", "判定日"),
    ("_file", "ファイル"),
    ("_line", "行"),
    ("reason_ja", "理由 (未反映)"),
)


def _unmatched_sheet(ws: Any, unmatched: pa.Table, header: Header, letter: Callable[[int], str]) -> None:
    """Decisions that could not be applied, as the clerk sent them, with the reason."""
    ws.append([ja if header == "ja" else col for col, ja in UNMATCHED_COLUMNS])
    for r in unmatched.to_pylist():
        ws.append([r[c].isoformat() if isinstance(r[c], dt.date) else r[c] for c, _ in UNMATCHED_COLUMNS])
    ws.freeze_panes = "A2"
    for i, (col, ja) in enumerate(UNMATCHED_COLUMNS, 1):
        ws.column_dimensions[letter(i)].width = column_width([ja, *unmatched.column(col).to_pylist()])


def write_review_files(
    lake_root: str | Path,
    kijunbi: str,
    lg_code: str,
    candidates: pa.Table,
    records: pa.Table,
    header: Header = "ja",
    unmatched: pa.Table | None = None,
) -> list[Path]:
    """Write a municipality's review files for a 基準日; returns [xlsx, csv].

    ``candidates``: LINKS rows of the municipality (only band ``review`` is shown) with a
    boolean ``shien`` (the candidate is under 支援措置 on the 基準日; NULL counts as no).
    ``records``: KEYED rows holding the municipality's 宛名 and every candidate (version 0 is
    shown, older versions tell 旧住所で一致). ``header``: Japanese (``ja``) or romaji/English
    (``en``) column names; both upload back. ``unmatched``: decisions that could not be applied
    (:func:`transform.reconcile.decisions.unmatched_decisions`), listed on their own sheet.

    Written atomically, the masked numbers first (so a file never names a mask the lake cannot
    resolve); the same inputs give the same bytes.
    """
    lake = Lake.at(lake_root)
    folder = lake.review_folder(kijunbi, lg_code)
    remove_stale_temps(folder)
    rows = review_rows(candidates, records, lg_code, review_key(lake))
    masks = {r["kohobango"]: r["_number"] for r in rows if r["kohobango"] != r["_number"]}
    if masks:
        path = lake.review_masks(kijunbi, lg_code)
        known = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        if not masks.items() <= known.items():
            merged = dict(sorted({**known, **masks}.items()))
            atomic_write_bytes(path, (json.dumps(merged, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))
    xlsx = lake.review_file(kijunbi, lg_code, ".xlsx")
    csv_path = lake.review_file(kijunbi, lg_code, ".csv")
    atomic_write_bytes(xlsx, xlsx_bytes(rows, kijunbi, header, unmatched))
    atomic_write_bytes(csv_path, csv_bytes(rows, header))
    log.info("%s %s: %d review candidates", lg_code, kijunbi, len(rows))
    return [xlsx, csv_path]
