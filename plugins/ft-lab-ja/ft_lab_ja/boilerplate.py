"""``ja_boilerplate``: strip the set phrases that open and close Japanese business mail and support answers.

A ticket or FAQ answer is wrapped in greetings that carry no content and that a model would otherwise
learn to write first (or instead of the answer)::

    text = "山田様\\n\\nいつもお世話になっております。\\nカードの再発行は、アプリの設定画面から申請できます。\\n" \\
           "ご不明な点がございましたら、お気軽にお問い合わせください。\\nよろしくお願いいたします。\\n--\\nサポート窓口"
    JaBoilerplate().strip_text(text)[0]   # 'カードの再発行は、アプリの設定画面から申請できます。'

Only whole sentences at the start (addressee line, openings) or the end (closings, the signature after
a ``--`` / ``━━━`` line) are removed; the same phrase in the middle of a text stays.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ft_lab import Cleaner
from ft_lab.cleaners.text import rewrite_rows

_END = r"[。．.！!]*"
_PLEASE = r"(?:よろしく|宜しく|よろしゅう)?お願い(?:いたします|致します|します|申し上げます|いたしますね)"
OPENINGS = (
    r"(?:いつも|平素より|平素は|日頃より|日頃は|日ごろより)?(?:大変|たいへん)?お世話(?:様|さま)?に(?:なって(?:おります|います|ございます)|なります)",
    r"お(?:疲れ|つかれ)(?:様|さま)です",
    r"(?:いつも|毎度|平素より|このたびは|この度は)?(?:[^\s。]{1,12}を)?(?:ご利用|ご愛顧|お引き立て)(?:いただき|頂き|くださり)(?:まして)?、?(?:誠に|まことに)?ありがとうございます",
    r"(?:このたびは|この度は)?(?:お問い合わせ|お問合せ|お問い合せ|ご連絡|ご質問|ご相談)(?:を)?(?:いただき|頂き|くださり)(?:まして)?、?(?:誠に|まことに)?ありがとうございます",
    r"(?:はじめまして|初めまして)",
    r"突然の(?:ご連絡|メール|ご連絡にて)(?:を)?(?:、)?失礼(?:いたします|致します|します)",
    r"[^\n。！？]{1,40}(?:と申します|でございます)",
)
CLOSINGS = (
    r"[^\n。！？]{0,40}" + _PLEASE,
    r"(?:何か|ご不明な点|ご不明点|ご質問|その他)[^\n。！？]{0,40}(?:お問い合わせ|お問合せ|ご連絡|お申し付け|ご相談)(?:ください|下さい)(?:ませ)?",
    r"(?:今後とも|引き続き)[^\n。！？]{0,30}(?:ご愛顧|ご利用)[^\n。！？]{0,20}",
    r"以上(?:です|となります|、?よろしくお願いします)?",
    r"(?:ご確認|ご検討)(?:の程|のほど)?(?:、)?(?:お願い(?:いたします|致します|します))",
    r"(?:どうも)?ありがとうございました",
    r"失礼(?:いたします|致します|します)",
)
_ADDRESSEE = re.compile(r"\A\s*[^\n。！？]{1,30}(?:様|さま|御中|各位|殿)[ \t　]*(?:\n|\Z)")
# what a signature holds (a markdown rule before a list of steps is not a signature)
_CONTACT = re.compile(r"(?:TEL|Tel|tel|電話|FAX|Fax|fax|E-?[Mm]ail|[Mm]ail|メール)[ \t　]*[:：]|[\w.+-]+[@＠][\w-]+\.\w|"
                      r"https?://|〒|^[^\n。]{0,30}(?:株式会社|有限会社|部|課|窓口|センター|担当)[^\n。]{0,20}$", re.M)
_SEPARATOR = re.compile(r"^[ \t　]*(?:--|-{3,}|[ー－―─━=＝*＊_＿~〜・※]{3,})[ \t　]*$", re.M)


def _compile(phrases, extra, at_start: bool) -> re.Pattern:
    body = "|".join(f"(?:{p})" for p in (*phrases, *extra))
    if at_start:
        return re.compile(rf"\A\s*(?:{body}){_END}[、,]?\s*")
    return re.compile(rf"(?:(?<=[。．.！!？?\n])|\A)[ \t　]*(?:{body}){_END}\s*\Z")


class JaBoilerplate(Cleaner):
    """Remove Japanese set phrases at a text's start and end: addressee, greetings, closings, signature."""

    name = "ja_boilerplate"

    @dataclass
    class Config:
        addressee: bool = field(default=True, metadata={
            "help": "remove a first line that only names the addressee (山田様, 株式会社ABC御中, 関係者各位)"})
        opening: bool = field(default=True, metadata={
            "help": "remove opening greetings (いつもお世話になっております, お問い合わせいただきありがとうございます)"})
        closing: bool = field(default=True, metadata={
            "help": "remove closing phrases (よろしくお願いいたします, ご不明な点がございましたらお問い合わせください, 以上)"})
        signature: bool = field(default=True, metadata={
            "help": "remove a signature: from a '--' line, or a '━━━' line followed by contact details "
                    "(TEL, mail, 株式会社, 窓口), to the end"})
        max_signature_lines: int = field(default=10, metadata={
            "help": "longest signature removed, in lines after its separator"})
        extra_phrases: list[str] = field(default_factory=list, metadata={
            "help": "more phrases (regular expressions) removed when a whole sentence at the start or end is one"})
        drop_empty: bool = field(default=True, metadata={
            "help": "drop a row whose text was nothing but boilerplate (recorded with the reason)"})

        def __post_init__(self):
            if self.max_signature_lines < 1:
                raise ValueError("max_signature_lines must be 1 or more")
            for p in self.extra_phrases:
                try:
                    re.compile(p)
                except re.error as exc:
                    raise ValueError(f"extra_phrases: {p!r} is not a regular expression ({exc})") from None

    def __init__(self, config=None):
        super().__init__(config)
        self._opening = _compile(OPENINGS, self.config.extra_phrases, at_start=True)
        self._closing = _compile(CLOSINGS, self.config.extra_phrases, at_start=False)

    def strip_text(self, text: str) -> tuple[str, list[str]]:
        """The text without its boilerplate, and what was removed (``addressee``, ``opening``, ...)."""
        c, parts = self.config, []
        if c.signature:  # from the first separator line that has text before it and a short tail after
            for sep in _SEPARATOR.finditer(text):
                tail = text[sep.end():].strip()
                if text[:sep.start()].strip() and tail.count("\n") < c.max_signature_lines and \
                        (sep.group().strip() == "--" or _CONTACT.search(tail)):
                    text = text[:sep.start()]
                    parts.append("signature")
                    break
        if c.addressee and (m := _ADDRESSEE.match(text)):
            text = text[m.end():]
            parts.append("addressee")
        for on, pattern, part in ((c.opening, self._opening, "opening"), (c.closing, self._closing, "closing")):
            while on and text.strip() and (m := pattern.search(text)):
                text = text[:m.start()] + text[m.end():]
                parts.append(part)
        return (text.strip() if parts else text), parts

    def clean(self, rows, columns):
        def emptied(row: dict, new: dict) -> str | None:
            cols = [c for c in columns if isinstance(row.get(c), str) and row[c].strip()
                    and isinstance(new.get(c), str) and not new[c].strip()]
            return f"only boilerplate in {', '.join(cols)}" if cols and self.config.drop_empty else None

        return rewrite_rows(rows, columns, self.strip_text, emptied, counted="removed")
