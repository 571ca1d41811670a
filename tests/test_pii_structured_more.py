"""``pii_mask``'s IBANs, bare domain names and short local phone numbers (no model needed)."""
import pytest

from ft_lab.cleaners.pii import PiiDetector, iban_ok


def found(text):
    return [(text[s.start:s.end], s.type) for s in PiiDetector().find(text)]


@pytest.mark.parametrize("text, value", [
    ("My IBAN is DE89 3704 0044 0532 0130 00, thanks", "DE89 3704 0044 0532 0130 00"),
    ("transfer to GB82WEST12345698765432 today", "GB82WEST12345698765432"),
    ("FR14 2004 1010 0505 0001 3M02 606", "FR14 2004 1010 0505 0001 3M02 606"),
])
def test_ibans_are_masked_whole(text, value):
    assert found(text) == [(value, "IBAN")]  # not a phone number inside it


def test_a_wrong_check_digit_is_no_iban():
    assert iban_ok("DE89 3704 0044 0532 0130 00") and not iban_ok("DE89 3704 0044 0532 0130 01")
    assert not any(kind == "IBAN" for _, kind in found("DE89 3704 0044 0532 0130 01"))


@pytest.mark.parametrize("text, value", [
    ("My website is GoldAgenda.is", "GoldAgenda.is"), ("Website:\nHollyguns.com.pt\n", "Hollyguns.com.pt"),
    ("see shop.example.co.uk.", "shop.example.co.uk"),
])
def test_bare_domain_names(text, value):
    assert found(text) == [(value, "URL")]


@pytest.mark.parametrize("text", ["see README.md and setup.py", "e.g. the U.S. and Mr.Children", "node.js 1.2.3",
                                  "config.de.yaml", "Ltd. Orchestra"])
def test_file_names_and_abbreviations_are_no_domains(text):
    assert found(text) == []


@pytest.mark.parametrize("text, value", [
    ("You can call 95 92 16", "95 92 16"), ("Phone:\n06-50669214", "06-50669214"),
    ("Phone: 24 764401", "24 764401"),
])
def test_short_local_phones_after_a_phone_word(text, value):
    assert found(text) == [(value, "PHONE")]


@pytest.mark.parametrize("text", ["seats 12 34 56 in row 7", "order 12 34 56", "invoice 20 24 04"])
def test_pairs_without_a_phone_word_stay(text):
    assert not any(kind == "PHONE" for _, kind in found(text))
