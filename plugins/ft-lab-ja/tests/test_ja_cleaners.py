"""ft-lab-ja's cleaners on real Japanese ticket and FAQ text, alone and in `ft-lab data prepare`."""
import csv
import json

import pytest

from ft_lab_ja.boilerplate import JaBoilerplate
from ft_lab_ja.mojibake import JaMojibake, garbled_marks
from ft_lab_ja.normalize import JaNormalize


def rows(*texts):
    return [{"text": t, "label": "x", "meta": {}} for t in texts]


@pytest.mark.parametrize("before, after", [
    ("コンピュ−タ－を ご 利用 の 方は 03−1234−5678 まで〜〜", "コンピューターをご利用の方は 03-1234-5678 まで〜"),
    ("すごーーーい！", "すごーい！"),
    ("営業時間は10時～18時です", "営業時間は10時〜18時です"),
    ("受付:9~17時", "受付:9〜17時"),
    ("型番 AB‐1234 の ケーブル", "型番 AB-1234 のケーブル"),
    # a dash after kana: ー when it ends a word or makes one Sudachi knows; between two words it stays
    ("メ-ルアドレス", "メールアドレス"), ("フランス-アメリカ間", "フランス-アメリカ間"),
    ("ヴァレンティア-ニューファンドランド", "ヴァレンティア-ニューファンドランド"), ("ｽｰﾊﾟｰ", "ｽｰﾊﾟｰ"),
    # spaces: gone inside words and next to particles, auxiliaries and affixes; kept between content words
    ("パスワード を 忘れ ました", "パスワードを忘れました"), ("コンピュ ータ", "コンピュータ"),
    ("田中 さん に 連絡", "田中さんに連絡"), ("特に 母親から", "特に母親から"), ("確認 して ください\n次の 行 です", "確認してください\n次の行です"),
    ("確率 基礎", "確率 基礎"), ("東京 大阪 名古屋", "東京 大阪 名古屋"), ("シュガーマン 奇跡", "シュガーマン 奇跡"),
    # left alone: ruled lines, the Japanese dash, a hyphen before a digit, paths, spaces between Latin words
    ("見出し━━━━", "見出し━━━━"), ("それは――違う", "それは――違う"), ("ページ-1", "ページ-1"),
    ("cd ~/work", "cd ~/work"), ("Hello world です", "Hello world です"), ("word—word", "word—word"),
])
def test_ja_normalize_defaults(before, after):
    assert JaNormalize().normalize_text(before) == after


def test_ja_normalize_options_and_change_records():
    opt = JaNormalize(JaNormalize.Config(spaces="around_japanese", max_repeat=2, max_long_vowels=2, tilde="ascii"))
    assert opt.normalize_text("Python で 書く すごーーーい！！！！ 10時〜18時") == "Pythonで書くすごーーい！！10時~18時"
    every = JaNormalize(JaNormalize.Config(spaces="between_japanese"))
    assert every.normalize_text("確率 基礎 と Python で") == "確率基礎と Python で"
    keep = JaNormalize(JaNormalize.Config(long_vowel=False, max_long_vowels=None, hyphens=False, tilde="keep",
                                          spaces="keep"))
    assert keep.normalize_text("コンピュ−タ－ ーー 03−1234 〜～") == "コンピュ−タ－ ーー 03−1234 〜～"
    chat = {"messages": [{"role": "user", "content": "返品 でき ますか〜"}, {"role": "assistant", "content": "はい"}],
            "meta": {}}
    out = JaNormalize().clean(rows("ログイン でき ません", "問題なし") + [chat], ["text", "messages"])
    assert [r.get("text") for r in out.rows[:2]] == ["ログインできません", "問題なし"]
    assert out.rows[2]["messages"][0]["content"] == "返品できますか〜"
    assert out.changed == 2 and [c["index"] for c in out.changes] == [0, 2]
    assert out.changes[0]["before"]["text"] == "ログイン でき ません"
    with pytest.raises(ValueError, match="max_repeat must be 1 or more"):
        JaNormalize.Config(max_repeat=0)


TICKET = ("山田様\n\nいつもお世話になっております。\nカードの再発行は、アプリの設定画面から申請できます。\n"
          "ご不明な点がございましたら、お気軽にお問い合わせください。\nよろしくお願いいたします。\n--\nサポート窓口")


@pytest.mark.parametrize("before, after, parts", [
    (TICKET, "カードの再発行は、アプリの設定画面から申請できます。",
     ["signature", "addressee", "opening", "closing", "closing"]),
    ("お問い合わせいただきありがとうございます。ログインできない場合は、パスワードを再設定してください。",
     "ログインできない場合は、パスワードを再設定してください。", ["opening"]),
    ("お世話になります。ABC商事の田中と申します。\n注文番号123の配送状況を確認したいです。\n"
     "お手数ですが、ご確認のほどよろしくお願い申し上げます。", "注文番号123の配送状況を確認したいです。",
     ["opening", "opening", "closing"]),
    ("株式会社ABC 御中\n見積書を送付します。\n━━━━━━\n株式会社XYZ 営業部\n鈴木一郎\nTEL: 03-0000-0000\n━━━━━━",
     "見積書を送付します。", ["signature", "addressee"]),
    ("返品はできますか？以上です。", "返品はできますか？", ["closing"]),
    # the same phrases inside the text, and a markdown rule before steps, are content: kept
    ("設定方法を教えてください。よろしくお願いしますと伝えてください。", None, []),
    ("手順:\n---\n1. 設定を開く\n2. 保存する", None, []),
])
def test_ja_boilerplate_strips_only_whole_sentences_at_the_ends(before, after, parts):
    text, found = JaBoilerplate().strip_text(before)
    assert text == (before if after is None else after) and found == parts


def test_ja_boilerplate_drops_rows_that_were_only_greetings_and_counts_what_it_removed():
    out = JaBoilerplate().clean(rows("よろしくお願いします。", "お世話になっております。返品したいです。", "返品したいです。"),
                                ["text"])
    assert [r["text"] for r in out.rows] == ["返品したいです。", "返品したいです。"]
    assert out.rejected == [(rows("よろしくお願いします。")[0], "only boilerplate in text")]
    assert out.info == {"removed": {"opening": 1, "closing": 1}} and [c["index"] for c in out.changes] == [1]
    kept = JaBoilerplate(JaBoilerplate.Config(drop_empty=False, opening=False)).clean(
        rows("よろしくお願いします。", "お世話になっております。"), ["text"])
    assert [r["text"] for r in kept.rows] == ["", "お世話になっております。"] and not kept.rejected
    extra = JaBoilerplate(JaBoilerplate.Config(extra_phrases=[r"※このメールは送信専用です"]))
    assert extra.strip_text("回答です。\n※このメールは送信専用です。")[0] == "回答です。"
    with pytest.raises(ValueError, match="extra_phrases"):
        JaBoilerplate.Config(extra_phrases=["(unclosed"])


GOOD = "カードが届きません。再発行をお願いします。"


@pytest.mark.parametrize("garbled, mixup", [
    ("繧ｫ繝ｼ繝峨′螻翫″縺ｾ縺帙ｓ", "utf-8 read as cp932"),
    (GOOD.encode("utf-8").decode("latin-1"), "utf-8 read as latin-1/cp1252"),
    (GOOD.encode("cp932").decode("latin-1"), "shift_jis read as latin-1/cp1252"),
])
def test_ja_mojibake_repairs_exact_round_trips(garbled, mixup):
    fixed, label = JaMojibake().repair_text(garbled)
    assert label == mixup
    if mixup:
        assert fixed in (GOOD, "カードが届きません")
    assert garbled_marks(garbled) >= 2


def test_ja_mojibake_keeps_clean_text_and_drops_what_it_cannot_repair():
    lost = GOOD.encode("cp932").decode("utf-8", "replace")  # Shift_JIS read as UTF-8: bytes are gone
    clean = ["カードが届きません。", "Café au lait — “naïve” résumé", "ページ-1 を参照"]
    out = JaMojibake().clean(rows(*clean, "繧ｫ繝ｼ繝峨′螻翫″縺ｾ縺帙ｓ", lost), ["text"])
    assert [r["text"] for r in out.rows] == clean + ["カードが届きません"]
    assert len(out.rejected) == 1 and out.rejected[0][1].startswith("garbled text (mojibake, ")
    assert out.info == {"repaired": {"utf-8 read as cp932": 1}} and [c["index"] for c in out.changes] == [3]
    # after NFKC (the core normalize) the garbled bytes are gone: dropped with the reason, not mis-repaired
    from ft_lab.cleaners.normalize import Normalize
    nfkc = Normalize().normalize_text("繧ｫ繝ｼ繝峨′螻翫″縺ｾ縺帙ｓ")
    assert JaMojibake().repair_text(nfkc) == (nfkc, None) and JaMojibake().clean(rows(nfkc), ["text"]).rejected
    keep = JaMojibake(JaMojibake.Config(drop_garbled=False, repair=False)).clean(rows(lost), ["text"])
    assert keep.rows == rows(lost) and not keep.changes


def test_ft_lab_data_prepare_cleans_japanese_tickets(tmp_path, capsys):
    """`ft-lab data prepare recipe.yaml --out prepared` with the pack's cleaners around the core normalize."""
    from ft_lab.cli import main

    tickets = [("繧ｫ繝ｼ繝峨′螻翫″縺ｾ縺帙ｓ", "card"), ("いつもお世話になっております。\nパスワード を 忘れ ました。\n"
                                              "よろしくお願いいたします。", "login"),
               ("よろしくお願いします。", "other"), ("ﾛｸﾞｲﾝ でき ません〜", "login")]
    tickets += [(f"注文番号{i}の配送状況を知りたいです。", "delivery") for i in range(10)]
    tickets += [(f"ID{i}でログインできません。", "login") for i in range(10)]
    with open(tmp_path / "tickets.csv", "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([("text", "label"), *tickets])
    (tmp_path / "recipe.yaml").write_text(
        "task: classification\ndata: {path: tickets.csv, split: [0.5, 0.25, 0.25]}\n"
        "clean: [ja_mojibake, normalize, ja_normalize, ja_boilerplate]\n", encoding="utf-8")
    out = tmp_path / "prepared"
    assert main(["data", "prepare", str(tmp_path / "recipe.yaml"), "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rejected"] == 1 and summary["changed"] >= 3
    texts = {json.loads(line)["text"] for s in ("train", "validation", "test")
             for line in (out / f"{s}.jsonl").read_text(encoding="utf-8").splitlines()}
    assert {"カードが届きません", "パスワードを忘れました。", "ログインできません〜"} <= texts
    rejected = [json.loads(line) for line in (out / "rejected.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["cleaner"], r["reason"]) for r in rejected] == [("ja_boilerplate", "only boilerplate in text")]
    changes = [json.loads(line) for line in (out / "changes.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {"normalize", "ja_mojibake", "ja_normalize", "ja_boilerplate"} <= {c["cleaner"] for c in changes}
