"""Error codes and the base error classes shared by every stage.

Item errors use the standard's API error classes (E0001–E0004). File-level errors (F…) and
row-structure errors (R…) are this project's; all are listed in docs/errors.md, generated from
:data:`CODES`.
"""

from __future__ import annotations

from dataclasses import dataclass

#: code → (Japanese message for municipal staff, English message for operators)
CODES: dict[str, tuple[str, str]] = {
    "E0001": ("必須エラー: 必須項目が空欄です", "required item is empty"),
    "E0002": ("指定文字エラー: 使用できない文字または値です", "character or value not allowed for this item"),
    "E0003": ("桁数エラー: 文字数が規定と異なります", "length in characters out of bounds"),
    "E0004": ("相関チェックエラー: 他の項目または他の行と矛盾しています", "inconsistent with another item or row"),
    "W0001": (
        "警告: 住民票コードの検査数字が一致しません (受付は継続)",
        "住民票コード check digit does not match (warning only)",
    ),
    "R0001": ("列数エラー: 行の項目数が見出し行と異なります", "row has a different number of fields than the header"),
    "F0001": ("送付ファイル一覧(マニフェスト)を読み取れません", "manifest unreadable or malformed"),
    "F0002": ("レイアウトまたは版が不明です", "unknown layout or layout version"),
    "F0003": ("全国地方公共団体コードが不正です", "invalid 全国地方公共団体コード"),
    "F0004": ("マニフェストに記載されたファイルがありません", "a file named in the manifest is missing"),
    "F0005": ("チェックサム(sha256)が一致しません", "sha256 does not match the manifest"),
    "F0006": ("件数がマニフェストと一致しません", "row count does not match the manifest"),
    "F0007": ("文字コードが宣言と異なるか、不正なバイトがあります", "bytes do not decode with the declared encoding"),
    "F0008": ("見出し行に必須の項目がありません", "header lacks a required item"),
    "F0009": ("見出し行に不明な項目があります", "header has an unknown or repeated item"),
    "F0010": ("ファイルが空です(見出し行がありません)", "file is empty (no header row)"),
    "F0011": ("CSV形式が不正です(引用符が閉じていない等)", "malformed CSV (e.g. unterminated quote)"),
    "F0012": ("ファイル名が不正です", "file name not allowed"),
    "F0013": ("文字コードの指定が不明です", "unknown encoding declared"),
    "F0014": (
        "リンクまたは特殊ファイルです(通常のファイルではありません)",
        "a symlink, hard link or non-regular file (folder, FIFO, socket, device); not read",
    ),
    "F0015": (
        "xlsx ファイルを受け付けられません (読み取れない、またはこのレイアウトは CSV のみ)",
        "xlsx file not accepted: unreadable, or the layout takes CSV only",
    ),
}

SEVERITY_WARNING = frozenset({"W0001"})

#: what a municipal clerk should do about a file-level or row-structure error
ADVICE_JA: dict[str, str] = {
    "R0001": '区切りのカンマの数を見出し行と合わせてください (値にカンマを含む場合は""で囲む)。',
    "F0001": "送付ファイル一覧 (マニフェスト) を作り直してください (jumin upload が自動作成します)。",
    "F0002": "レイアウト名と版 (atena/juki/shien/teikyoteishi/nayose、版 1) を確認してください。",
    "F0003": "マニフェストの団体コードを、自団体の6桁のコード (検査数字付き) にしてください。",
    "F0004": "マニフェストに書いたファイルをすべて送ってください (揃えば自動で処理します)。",
    "F0005": "マニフェスト作成後にファイルが変わっています。マニフェストを作り直して送り直してください。",
    "F0006": "マニフェストの件数を実際のデータ行数 (見出し行を除く) に合わせてください。",
    "F0007": "ファイルの文字コードとマニフェストの encoding (utf-8 / cp932) を一致させてください。",
    "F0008": "見出し行に必須項目の列を追加してください (項目名は layouts.md の表記)。",
    "F0009": "見出し行の項目名を確認してください (不明な列、重複した列は使えません)。",
    "F0010": "空のファイルです。見出し行とデータ行を含むファイルを送ってください。",
    "F0011": '引用符 (") が閉じていない行があります。該当行を修正してください。',
    "F0012": "ファイル名は半角英数字と . _ - のみ (100文字まで)、フォルダ名を含めないでください。",
    "F0013": "encoding には utf-8 または cp932 を指定してください。",
    "F0014": "リンクや特殊ファイルは受け付けません。通常のファイルとして送り直してください。",
    "F0015": "xlsx は名寄せ判定 (nayose) のみ、返却された名寄せ候補ファイルを Excel で保存したものを送ってください。"
    "その他のレイアウトは CSV で送ってください。",
}


def message(code: str, lang: str = "ja") -> str:
    """The message for ``code`` in Japanese (``ja``) or English (``en``)."""
    ja, en = CODES[code]
    return ja if lang == "ja" else en


class JuminError(Exception):
    """Base of all pipeline errors.

    ``transient`` errors (network, SFTP) are worth a retry; terminal ones (a bad file) are not:
    they fail fast and end up in a receipt.
    """

    transient = False


class TransientError(JuminError):
    """Retry later: the cause is outside the data."""

    transient = True


class TerminalError(JuminError):
    """Do not retry: the input itself is wrong."""


@dataclass(frozen=True)
class Finding:
    """One error or warning about an upload set, located as precisely as known."""

    code: str
    file: str = ""
    line: int | None = None
    item: str = ""
    value: str | None = None
    detail: str = ""

    @property
    def is_warning(self) -> bool:
        return self.code in SEVERITY_WARNING
