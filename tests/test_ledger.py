"""The delivery ledger: complete after every delivery, tamper-evident (each way of tampering is
named), keyed so its files hold no 住民票コード, and answering a resident in Japanese."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import shutil
import tempfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jumin.apps.cli import EXIT_ERROR, EXIT_OK, EXIT_USAGE, main
from jumin.core.lake import Lake
from load.deliver import ledger as L

REPO = Path(__file__).resolve().parent.parent
JST = timezone(timedelta(hours=9))
AT = datetime(2026, 12, 1, 9, 30, tzinfo=JST)
ITEMS = (
    L.Item("shimei", "氏名"),
    L.Item("furigana", "フリガナ"),
    L.Item("seinengappi", "生年月日"),
    L.Item("jusho", "住所"),
)
#: 11-digit 住民票コード of the test persons (check digit not needed by the ledger)
CODES = [f"{n:011d}" for n in range(81234567890, 81234567890 + 40)]
LG = ["131016", "141038", "012025"]


def delivery(n: int, items: tuple[L.Item, ...] = ITEMS, saas: str = "ワクチン接種記録SaaS") -> L.DeliveryRecord:
    return L.DeliveryRecord(
        delivery_id=f"vacc-2026-11-01-{n}",
        contract_id="vaccination_65plus",
        contract_version=f"1.{n}.0",
        saas=saas,
        purpose="予防接種の接種勧奨と接種記録の管理",
        items=items,
        kijunbi="2026-11-01",
        legal_basis="予防接種法",
    )


def persons(codes: list[str], lg: str = "131016") -> pa.Table:
    return pa.table({"juminhyokodo": codes, "lg_code": [lg] * len(codes), "atena_bango": [None] * len(codes)})


def three_deliveries(root: Path) -> list[L.LedgerReceipt]:
    return [
        L.append(root, delivery(n), persons(CODES[n * 5 : n * 5 + 12], LG[n]), AT + timedelta(days=n)) for n in range(3)
    ]


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    three_deliveries(tmp_path)
    return tmp_path


def segment(root: Path, seq: int) -> Path:
    return next(p for p in Lake(root).ledger_segment_files() if Lake.ledger_segment_seq(p)[0] == seq)


def rewrite(path: Path, table: pa.Table) -> None:
    pq.write_table(table, path)


# --------------------------------------------------------------------------- append and verify


@pytest.mark.unit
def test_deliveries_appended_verify_and_the_head_is_the_last_receipts(tmp_path: Path) -> None:
    receipts = three_deliveries(tmp_path)
    assert [r.seq for r in receipts] == [1, 2, 3] and all(r.entries == 12 for r in receipts)
    result = L.verify(tmp_path, expected_head=receipts[-1].head)
    assert result.ok, result
    assert (result.segments, result.entries, result.head) == (3, 36, receipts[-1].head)
    assert L.verify(tmp_path, expected_head=receipts[0].head).ok  # an older manifest's head is in the chain


@pytest.mark.unit
def test_a_delivery_appended_again_is_not_logged_twice(lake: Path) -> None:
    again = L.append(lake, delivery(1), persons(CODES[5:17], LG[1]), AT + timedelta(days=1))
    assert not again.appended and again.seq == 2
    assert len(Lake(lake).ledger_segment_files()) == 3 and L.verify(lake).ok


@pytest.mark.unit
def test_a_delivery_record_from_a_shipped_contract(tmp_path: Path) -> None:
    from load.deliver.contract import load_contract

    contracts = sorted((REPO / "load" / "deliver" / "contracts").glob("*.yaml"))
    if not contracts:
        pytest.skip("no example contracts shipped yet")
    contract = load_contract(contracts[0])
    record = L.DeliveryRecord.from_contract(contract, "d-1", "2026-11-01")
    assert (record.contract_id, record.contract_version, record.purpose) == (
        contract.id,
        contract.version,
        contract.purpose,
    )
    assert [i.ja for i in record.items] == [i.label_ja for i in contract.items]
    L.append(tmp_path, record, persons(CODES[:2]), AT)
    assert [i.ja for i in L.show(tmp_path, CODES[0])[0].items] == [i.label_ja for i in contract.items]


@pytest.mark.unit
def test_another_delivery_under_a_logged_id_is_refused(lake: Path) -> None:
    other = L.DeliveryRecord(**{**delivery(1).__dict__, "purpose": "販売促進"})
    with pytest.raises(L.LedgerError, match="with another purpose"):
        L.append(lake, other, persons(CODES[:3]), AT)


@pytest.mark.unit
def test_concurrent_appends_take_one_number_each(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        receipts = list(pool.map(lambda n: L.append(tmp_path, delivery(n), persons(CODES[n : n + 5]), AT), range(6)))
    assert sorted(r.seq for r in receipts) == [1, 2, 3, 4, 5, 6]
    assert L.verify(tmp_path).ok and L.verify(tmp_path).entries == 30


@pytest.mark.unit
def test_entries_are_sorted_by_the_keyed_id_in_small_row_groups(tmp_path: Path) -> None:
    receipt = L.append(tmp_path, delivery(0), persons(CODES), AT)
    table = pq.read_table(receipt.segment)
    assert table.column("person").to_pylist() == sorted(table.column("person").to_pylist())
    assert table.column("pos").to_pylist() == list(range(len(CODES)))
    assert pq.ParquetFile(receipt.segment).metadata.row_group(0).column(0).statistics.has_min_max


@pytest.mark.unit
def test_hmac_computed_in_sql_is_hmac_sha256(tmp_path: Path) -> None:
    for key in (b"k" * 32, b"long key " * 10):  # a key longer than SHA-256's block is hashed first
        root = tmp_path / str(len(key))
        L.append(root, delivery(0), persons(CODES[:3]), AT, key_source=lambda: key)  # noqa: B023
        stored = set(pq.read_table(Lake(root).ledger_segment(1, delivery(0).delivery_id)).column("person").to_pylist())
        assert stored == {hmac.new(key, c.encode(), hashlib.sha256).hexdigest() for c in CODES[:3]}
        assert not Lake(root).ledger_key().exists()  # the key source was used, no file made


@pytest.mark.unit
def test_the_key_file_is_made_once_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        L.append(tmp_path, delivery(0), persons(CODES[:2]), AT)
    assert "no ledger key" in caplog.text and "Airflow connection" in caplog.text
    key = Lake(tmp_path).ledger_key()
    assert key.stat().st_mode & 0o777 == 0o600 and len(key.read_bytes()) == 32
    first = key.read_bytes()
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        L.append(tmp_path, delivery(1), persons(CODES[:2]), AT)
    assert "no ledger key" not in caplog.text and key.read_bytes() == first


@pytest.mark.unit
@pytest.mark.parametrize(
    "change, error",
    [
        (lambda d, p, at: (d, p, at.replace(tzinfo=None)), "time zone"),
        (lambda d, p, at: (L.DeliveryRecord(**{**d.__dict__, "delivery_id": "../x"}), p, at), "delivery id"),
        (lambda d, p, at: (d, p.append_column("items", pa.array([["kojin_bango"]] * len(p))), at), "not in delivery"),
        (lambda d, p, at: (d, p.set_column(1, "lg_code", pa.array(["131017"] * len(p))), at), "全国地方公共団体コード"),
        (lambda d, p, at: (d, p.set_column(0, "juminhyokodo", pa.array([None] * len(p), pa.string())), at), "宛名番号"),
    ],
)
def test_a_bad_delivery_is_refused_and_nothing_is_written(tmp_path: Path, change: object, error: str) -> None:
    d, p, at = change(delivery(0), persons(CODES[:3]), AT)  # type: ignore[operator]
    with pytest.raises(L.LedgerError, match=error):
        L.append(tmp_path, d, p, at)
    assert Lake(tmp_path).ledger_segment_files() == [] and not Lake(tmp_path).ledger_chain().exists()


@pytest.mark.unit
def test_an_interrupted_append_is_finished_by_its_rerun_and_a_stray_segment_refused(lake: Path) -> None:
    chain = Lake(lake).ledger_chain()
    lines = chain.read_text().splitlines(keepends=True)
    chain.write_text("".join(lines[:2]))  # killed after the segment, before the chain record
    stale = [
        Lake(lake).ledger_segments_folder() / ".x.parquet.tmp-999999-1",
        chain.with_name(".chain.jsonl.tmp-999999-1"),
    ]
    for p in stale:  # what a process killed while writing left
        p.write_bytes(b"half")
    assert L.verify(lake).first.kind == "truncated"  # type: ignore[union-attr]
    with pytest.raises(L.LedgerError, match="no chain record"):
        L.append(lake, delivery(7), persons(CODES[:3]), AT)
    again = L.append(lake, delivery(2), persons(CODES[10:22], LG[2]), AT + timedelta(days=2))
    assert again.appended and again.seq == 3 and L.verify(lake).ok
    assert not any(p.exists() for p in stale)


# --------------------------------------------------------------------------- tampering


def first(root: Path, expected_head: str | None = None) -> L.Problem:
    result = L.verify(root, expected_head)
    assert not result.ok, "verify did not notice"
    assert result.first is not None
    return result.first


@pytest.mark.unit
def test_an_edited_entry_is_named(lake: Path) -> None:
    path = segment(lake, 2)
    table = pq.read_table(path)
    lg = table.column("lg_codes").to_pylist()
    lg[4] = ["012025"]  # entry 4 now claims another source municipality
    rewrite(path, table.set_column(2, "lg_codes", pa.array(lg, pa.list_(pa.string()))))
    p = first(lake)
    assert (p.kind, p.segment, p.entry) == ("edited", path.name, 4)


@pytest.mark.unit
def test_an_edited_entry_with_its_locator_recomputed_is_still_caught(lake: Path) -> None:
    path = segment(lake, 1)
    rec = json.loads(Lake(lake).ledger_chain().read_text().splitlines()[0])
    table = pq.read_table(path).drop_columns(["leaf"])
    items = table.column("items").to_pylist()
    items[0] = ["shimei"]  # 住所 hidden from the resident's answer
    table = table.set_column(3, "items", pa.array(items, pa.list_(pa.string())))
    con = L.duck.connect()
    _, forged = L._leaves(con, table, rec["meta_digest"])
    rewrite(path, forged)
    p = first(lake)
    assert (p.kind, p.segment) == ("edited", path.name) and "rewritten" in p.message


@pytest.mark.unit
def test_flipped_bytes_in_a_segment_are_named(lake: Path) -> None:
    path = segment(lake, 3)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    p = first(lake)
    assert (p.kind, p.segment) == ("edited", path.name)


@pytest.mark.unit
@pytest.mark.parametrize(
    "tamper, kind, entry",
    [
        (lambda t: pa.concat_tables([t.slice(0, 6), t.slice(7)]), "removed", 6),
        (lambda t: pa.concat_tables([t, t.slice(3, 1)]), "inserted", 12),
        (lambda t: pa.concat_tables([t.slice(0, 2), t.slice(3, 1), t.slice(2, 1), t.slice(4)]), "reordered", 2),
    ],
)
def test_a_removed_inserted_or_reordered_entry_is_named(lake: Path, tamper: object, kind: str, entry: int) -> None:
    path = segment(lake, 2)
    rewrite(path, tamper(pq.read_table(path)))  # type: ignore[operator]
    p = first(lake)
    assert (p.kind, p.segment, p.entry) == (kind, path.name, entry)


@pytest.mark.unit
def test_a_dropped_segment_is_named(lake: Path) -> None:
    path = segment(lake, 2)
    path.unlink()
    p = first(lake)
    assert (p.kind, p.segment) == ("removed", path.name)


@pytest.mark.unit
def test_a_forged_segment_is_named(lake: Path) -> None:
    forged = Lake(lake).ledger_segment(2, "forged")
    shutil.copy(segment(lake, 2), forged)
    p = first(lake)
    assert (p.kind, p.segment) == ("inserted", forged.name)


@pytest.mark.unit
def test_two_swapped_segments_are_named(lake: Path) -> None:
    one, two = segment(lake, 1), segment(lake, 2)
    a, b = one.read_bytes(), two.read_bytes()
    one.write_bytes(b)
    two.write_bytes(a)
    p = first(lake)
    assert (p.kind, p.segment) == ("reordered", one.name) and two.name in p.message


@pytest.mark.unit
def test_a_truncated_chain_is_named(lake: Path) -> None:
    chain = Lake(lake).ledger_chain()
    lines = chain.read_text().splitlines(keepends=True)
    chain.write_text("".join(lines[:2]))
    p = first(lake)
    assert (p.kind, p.segment) == ("truncated", segment(lake, 3).name)
    chain.write_text("".join(lines)[:-40])  # cut in the middle of the last record
    assert first(lake).kind == "chain broken"


@pytest.mark.unit
def test_a_tail_cut_off_whole_is_caught_by_the_manifests_head(tmp_path: Path) -> None:
    receipts = three_deliveries(tmp_path)
    chain = Lake(tmp_path).ledger_chain()
    chain.write_text("".join(chain.read_text().splitlines(keepends=True)[:2]))
    receipts[-1].segment.unlink()
    assert L.verify(tmp_path).ok  # the lake alone cannot tell …
    assert first(tmp_path, expected_head=receipts[-1].head).kind == "truncated"  # … the manifest can


@pytest.mark.unit
@pytest.mark.parametrize(
    "edit, expected",
    [
        ("purpose", "edited: chain record 2 was changed (its head does not match)"),
        ("head", "edited: chain record 2 was changed (its head does not match)"),
        ("remove", "chain broken: line 2 of chain.jsonl has seq 3 (records removed or reordered)"),
        ("swap", "chain broken: line 1 of chain.jsonl has seq 2 (records removed or reordered)"),
        ("relink", "chain broken: record 2 does not commit to the head before it"),
    ],
)
def test_an_edited_removed_or_reordered_chain_record_is_named(lake: Path, edit: str, expected: str) -> None:
    chain = Lake(lake).ledger_chain()
    lines = chain.read_text().splitlines(keepends=True)
    if edit == "purpose":
        rec = json.loads(lines[1])
        rec["meta"]["purpose"] = "販売促進"
        lines[1] = json.dumps(rec, ensure_ascii=False) + "\n"
    elif edit == "head":
        lines[1] = re.sub(r'"head":"[0-9a-f]{4}', '"head":"0000', lines[1])
    elif edit == "remove":
        del lines[1]
    elif edit == "swap":
        lines[0], lines[1] = lines[1], lines[0]
    else:  # record 2 forged whole, its own head recomputed, but off the chain
        rec = json.loads(lines[1])
        rec["prev"] = L.GENESIS
        rec["head"] = L.chain_head(
            rec["prev"], rec["sha256"], rec["entries_digest"], rec["meta_digest"], rec["seq"], rec["entries"]
        )
        lines[1] = json.dumps(rec, ensure_ascii=False) + "\n"
    chain.write_text("".join(lines))
    p = first(lake)
    assert str(p) == expected


# --------------------------------------------------------------------------- keying


@pytest.mark.unit
def test_no_file_of_the_ledger_holds_a_juminhyokodo_or_atena_bango(tmp_path: Path) -> None:
    three_deliveries(tmp_path)
    gaitosha = pa.table(
        {"juminhyokodo": [None, None], "lg_code": ["141038", "141038"], "atena_bango": ["9000000001", "9000000002"]}
    )
    L.append(tmp_path, delivery(9), gaitosha, AT)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) >= 6  # 4 segments, chain, key (and the lock)
    for path in files:
        data = path.read_bytes()
        for secret in [*CODES, "9000000001", "9000000002"]:
            assert secret.encode() not in data, f"{secret} in {path}"
            assert secret.encode("utf-16-le") not in data, f"{secret} in {path}"


# --------------------------------------------------------------------------- show


@pytest.mark.unit
def test_show_returns_every_delivery_of_a_person_and_nothing_of_others(lake: Path) -> None:
    # CODES[10:12] are in all three deliveries, CODES[0] only in the first, CODES[39] in none
    both = L.show(lake, CODES[10])
    assert [e.seq for e in both] == [1, 2, 3]
    assert [e.lg_codes for e in both] == [(LG[0],), (LG[1],), (LG[2],)]
    assert [e.contract_version for e in both] == ["1.0.0", "1.1.0", "1.2.0"]
    assert both[0].items == ITEMS and both[0].at == AT and both[0].kijunbi == "2026-11-01"
    assert [e.seq for e in L.show(lake, CODES[0])] == [1]
    assert L.show(lake, CODES[39]) == []
    assert L.show(tmp_path_empty := lake / "nothing", CODES[0]) == [] and not tmp_path_empty.exists()


@pytest.mark.unit
def test_show_finds_a_jugaisha_without_code_by_municipality_and_atena_bango(tmp_path: Path) -> None:
    table = pa.table({"juminhyokodo": [None], "lg_code": ["141038"], "atena_bango": ["9000000001"]})
    L.append(tmp_path, delivery(0), table, AT)
    assert [e.seq for e in L.show(tmp_path, None, lg_code="141038", atena_bango="9000000001")] == [1]
    assert L.show(tmp_path, None, lg_code="131016", atena_bango="9000000001") == []


@pytest.mark.unit
def test_a_person_listed_twice_is_one_entry_with_both_municipalities_and_their_items(tmp_path: Path) -> None:
    table = pa.table(
        {
            "juminhyokodo": [CODES[0], CODES[0], CODES[1]],
            "lg_code": ["131016", "141038", "131016"],
            "items": [["shimei", "jusho"], ["shimei"], None],
        }
    )
    receipt = L.append(tmp_path, delivery(0), table, AT)
    assert receipt.entries == 2
    (entry,) = L.show(tmp_path, CODES[0])
    assert entry.lg_codes == ("131016", "141038")
    assert [i.ja for i in entry.items] == ["氏名", "住所"]
    assert [i.ja for i in L.show(tmp_path, CODES[1])[0].items] == [i.ja for i in ITEMS]


@pytest.mark.unit
def test_the_answer_to_the_resident_is_in_japanese(lake: Path) -> None:
    text = L.resident_answer(L.show(lake, CODES[10]))
    assert text.startswith("あなたの情報の提供記録（3件）")
    for expected in (
        "提供先: ワクチン接種記録SaaS",
        "利用目的: 予防接種の接種勧奨と接種記録の管理",
        "根拠法令: 予防接種法",
        "提供元: 東京都千代田区（131016）",
        "提供元: 神奈川県横浜市西区（141038）",
        "提供した項目: 氏名、フリガナ、生年月日、住所",
        "基準日: 2026年11月1日",
        "2026年12月01日 09:30",
        "2026年12月03日 09:30",
    ):
        assert expected in text, expected
    assert "Deliveries of your data (3)" in L.resident_answer(L.show(lake, CODES[10]), "en")
    assert L.resident_answer([]) == "あなたの情報を共通SaaSに提供した記録はありません。\n"


@pytest.mark.unit
def test_the_answer_gives_japan_time_whatever_zone_the_delivery_was_logged_in(tmp_path: Path) -> None:
    L.append(tmp_path, delivery(0), persons(CODES[:1]), datetime(2026, 12, 1, 0, 30, tzinfo=UTC))
    assert "2026年12月01日 09:30" in L.resident_answer(L.show(tmp_path, CODES[0]))


#: the persons of the property: 住登者 by 住民票コード and 住登外者 by 宛名番号 (keyed with the
#: municipality of the delivery that lists them)
_POOL = [*CODES[:12], "A9000000001", "A9000000002", "A9000000003"]


def _table(members: list[str], lg: str, own_items: list[list[str] | None]) -> pa.Table:
    return pa.table(
        {
            "juminhyokodo": [None if m.startswith("A") else m for m in members],
            "lg_code": [lg] * len(members),
            "atena_bango": [m[1:] if m.startswith("A") else None for m in members],
            "items": pa.array(own_items, pa.list_(pa.string())),
        }
    )


def _show(root: Path, subject: tuple[str, str]) -> list[L.ResidentEntry]:
    member, lg = subject
    if member.startswith("A"):
        return L.show(root, None, lg_code=lg, atena_bango=member[1:])
    return L.show(root, member)


@pytest.mark.unit
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.lists(st.sampled_from(_POOL), min_size=1, max_size=8, unique=True),
            st.sampled_from(LG),
            st.lists(st.sampled_from(ITEMS), min_size=1, max_size=4, unique=True),
            st.data(),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_the_ledger_is_complete_after_every_delivery(
    deliveries: list[tuple[list[str], str, list[L.Item], st.DataObject]],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        subjects = {(m, "*") for m in _POOL if not m.startswith("A")} | {
            (m, lg) for m in _POOL if m.startswith("A") for lg in LG
        }
        expected: dict[tuple[str, str], list[tuple[int, str, tuple[str, ...]]]] = {s: [] for s in subjects}
        for n, (members, lg, items, data) in enumerate(deliveries, start=1):
            romaji = [i.romaji for i in items]
            own = [
                data.draw(st.one_of(st.none(), st.lists(st.sampled_from(romaji), min_size=1, unique=True)))
                for _ in members
            ]
            receipt = L.append(root, delivery(n, tuple(items)), _table(members, lg, own), AT + timedelta(hours=n))
            for m, mine in zip(members, own, strict=True):
                sent = set(mine or romaji)
                expected[(m, lg if m.startswith("A") else "*")].append(
                    (n, lg, tuple(i.ja for i in items if i.romaji in sent))
                )
            assert L.verify(root, expected_head=receipt.head).ok
        for subject, wanted in expected.items():
            got = [(e.seq, e.lg_codes[0], tuple(i.ja for i in e.items)) for e in _show(root, subject)]
            assert got == wanted, subject


# --------------------------------------------------------------------------- paths and CLI


@pytest.mark.unit
def test_the_ledger_paths_are_the_ones_docs_lake_md_documents() -> None:
    lake = Lake(Path("/lake"))
    text = (REPO / "docs" / "lake.md").read_text(encoding="utf-8")
    for documented, built in {
        "ledger/segments/<seq>-<delivery_id>.parquet": lake.ledger_segments_folder() / "<seq>-<delivery_id>.parquet",
        "ledger/chain.jsonl": lake.ledger_chain(),
        "reference/ledger_key": lake.ledger_key(),
    }.items():
        assert f"`{documented}`" in text
        assert built.relative_to(lake.root).as_posix() == documented
    assert lake.ledger_segment(3, "d-1").name == "00000003-d-1.parquet"
    assert Lake.ledger_segment_seq(lake.ledger_segment(3, "d-1")) == (3, "d-1")


@pytest.mark.unit
def test_cli_verify_and_show(lake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ledger", "verify", "--lake", str(lake)]) == EXIT_OK
    assert "ledger ok: 3 deliveries, 36 entries" in capsys.readouterr().out
    assert main(["ledger", "show", "--lake", str(lake), "--juminhyokodo", CODES[10]]) == EXIT_OK
    assert "提供元: 東京都千代田区（131016）" in capsys.readouterr().out
    assert main(["ledger", "show", "--lake", str(lake), "--juminhyokodo", CODES[10], "--lang", "en"]) == EXIT_OK
    assert "from: 東京都千代田区 (131016)" in capsys.readouterr().out
    assert main(["ledger", "show", "--lake", str(lake)]) == EXIT_USAGE
    assert "--juminhyokodo" in capsys.readouterr().err
    segment(lake, 2).unlink()
    assert main(["ledger", "verify", "--lake", str(lake)]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "removed: segment 00000002-" in err
