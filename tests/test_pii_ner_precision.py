"""The rules ``pii_ner`` adds on top of the models to keep names precise (``benchmarks/bench_pii.py`` measures them).

English: empty-cell words, streets and towns the model takes for persons, names that open an address block
or follow a greeting. Japanese: GiNZA's persons checked against Sudachi's dictionary (``pii_ja.model_person``).
"""
import pytest

from ft_lab.cleaners import pii_ner
from ft_lab.cleaners.pii_ner import PiiNer, ner_missing

pytestmark = pytest.mark.skipif(ner_missing() is not None, reason="the ner extra is not installed (make setup does)")


@pytest.fixture(scope="module")
def masker():
    return PiiNer(PiiNer.Config(numbered=True, entities=list(pii_ner.ALL_TYPES)))  # places and organisations too


def masked(masker, *texts):
    return [r["text"] for r in masker.clean([{"text": t, "meta": {}} for t in texts], ["text"]).rows]


def test_english_streets_towns_and_empty_cells_are_no_persons(masker):
    out = masked(masker, "Name: Kim Lee\nCity: nan\nNotes: nan",
                 "Send the card to Brunnenweg 44, Lindau, 88131 please.",
                 "Erik lives at 12 Baker Street, Ribe")
    assert out[0] == "Name: <PERSON_1>\nCity: nan\nNotes: nan"  # what a dataframe writes for an empty cell
    assert out[1] == "Send the card to <ADDRESS_1> please."  # street, number, town, postcode: one address
    assert out[2] == "<PERSON_1> lives at <ADDRESS_1>"  # the town after the street joins the address


@pytest.mark.parametrize("text, expected", [
    ("> Maria Olsen\n> Nordic Tools Ltd.\n> 12 Baker Street\n> Apt. 4", "> <PERSON_1>\n> Nordic Tools Ltd.\n> <ADDRESS_1>"),
    ("Hi Astrid, I'm writing about my refund.", "Hi <PERSON_1>, I'm writing about my refund."),
    ("She named him Oskar", "She named him <PERSON_1>"),
    ("What's your last name? Lindqvist", "What's your last name? <PERSON_1>"),
])
def test_english_names_from_their_place_in_the_text(masker, text, expected):
    assert masked(masker, text) == [expected]


def test_a_name_line_without_an_address_below_is_left_to_the_model():
    text = "Meeting notes\nQuarterly Review\nWe spoke about the budget."
    assert pii_ner.addressee_names(text, pii_ner.address_spans(text, "en")) == []


@pytest.mark.parametrize("text, first, last, kind", [
    ("フィラデルフィア・イーグルスに移籍した。", 0, 3, "ORGANIZATION"),  # a place and more: a team
    ("マツダの工場", 0, 1, None),  # a proper noun the dictionary knows as no person
    ("大聖堂の前", 0, 1, None),  # a common word
    ("中島飛行機が", 0, 2, None),  # a name closed by a common word: a company
    ("エディンバラで", 0, 1, "LOCATION"),  # a place name in katakana
    ("鶴は", 0, 1, None),  # one character
    ("EMCCの", 0, 1, None),  # an acronym
    ("シャオミンは", 0, 1, "PERSON"),  # nothing against it
    ("鶴さんは", 0, 1, "PERSON"),  # a person suffix settles it
])
def test_japanese_model_persons_checked_against_the_dictionary(text, first, last, kind):
    from spacy.tokens import Span

    from ft_lab.cleaners.pii_ja import model_person

    doc = pii_ner.load_pipeline("ja").make_doc(text)
    assert model_person(Span(doc, first, last, label="Person")) == kind


def test_japanese_surname_that_is_a_place_and_a_place_before_a_given_name():
    from ft_lab.cleaners.pii_ja import dictionary_names

    doc = pii_ner.load_pipeline("ja").make_doc("横浜一郎と横浜に行った。")  # 横浜 is a place name in the dictionary
    assert [(doc.text[s:e], k) for s, e, k in dictionary_names(doc)] == [("横浜一郎", "PERSON"), ("横浜", "LOCATION")]


@pytest.mark.parametrize("text, expected", [
    ("Torben shouted at the driver.", "<PERSON_1> shouted at the driver."),
    ("I would like to remove my kid Rasmus from the account.", "I would like to remove my kid <PERSON_1> from the account."),
    ("\"Not again!\" said Nelma.", "\"Not again!\" said <PERSON_1>."),
])
def test_english_names_from_what_they_do(masker, text, expected):
    assert masked(masker, text) == [expected]


def test_what_an_organisation_does_keeps_it_an_organisation():
    from ft_lab.cleaners.pii_en import verb_cued_names

    assert verb_cued_names("The bank said no. Acme Bank said no.") == []  # a common word, an organisation word
    spans = pii_ner.NerSpans(["PERSON", "ORGANIZATION"])
    text = "Yesterday, IBM said it would hire."
    assert not any(kind == "PERSON" for _, _, kind in spans(text))


def test_one_name_found_as_two_types_is_masked_as_a_person(masker):
    # the cue makes the first "Torben" a person; the small model calls both places (GPE)
    assert pii_ner.load_pipeline("en")("We waited for Torben.").ents[0].label_ == "GPE"
    out = masked(masker, "Torben said hello. We waited for Torben.")[0]
    assert out == "<PERSON_1> said hello. We waited for <PERSON_1>."


@pytest.mark.parametrize("text, expected", [
    ("Mr. Jaroš flew to Warszawa on Tuesday.", "Mr. <PERSON_1> flew to <LOCATION_1> on Tuesday."),
    ("I am Serbian but I live in Cyprus.", "I am Serbian but I live in <LOCATION_1>."),  # a nationality, not a name
    ("My name is Christian", "My name is <PERSON_1>"),  # a strong cue keeps the name
    ("I work for Henry Boot plc.", "I work for <ORGANIZATION_1>."),
])
def test_english_places_nationalities_and_companies(masker, text, expected):
    assert masked(masker, text) == [expected]


def test_an_entity_running_over_two_lines_is_split_by_the_address_block(masker):
    text = "> Jiri Schafer\n> Consonance Acquisition Corp.\n> 766 Baker Street\n> Apt. 747"
    out = masked(masker, text)[0]
    assert out.startswith("> <PERSON_1>\n") and "Schafer" not in out


@pytest.mark.parametrize("text, expected", [
    ("Ligio: \"Who are you?\"\nLigio: \"I'm his daughter.\"", "<PERSON_1>: \"Who are you?\"\n<PERSON_1>: \"I'm his daughter.\""),
    ("Agent: How can I help?\nAgent: Anything else?", "Agent: How can I help?\nAgent: Anything else?"),  # a role
    ("Bethany, can I please speak to your manager?", "<PERSON_1>, can I please speak to your manager?"),
    ("Runtime: 90 min\nDirected By:    Tara Nuncija", "Runtime: 90 min\nDirected By:    <PERSON_1>"),
    ("Alexandra Karlsson\n\nAquatic biologist\n\nPhone: 555 0100", "<PERSON_1>\n\nAquatic biologist\n\nPhone: <PHONE_1>"),
])
def test_english_speakers_callers_credits_and_contact_cards(masker, text, expected):
    assert masked(masker, text) == [expected]


def test_a_person_of_a_company_and_a_possessive():
    spans = pii_ner.NerSpans(["PERSON", "ORGANIZATION"])
    text = "Lincoln Ingham of Ryanair Holdings plc is the winner."
    assert [(text[s:e], k) for s, e, k in spans(text)] == [("Ryanair Holdings plc", "ORGANIZATION"), ("Lincoln Ingham", "PERSON")]
    doc = pii_ner.load_pipeline("en")("from Virginia Harjo's Cautionary Tales")
    assert doc.ents[0].text == "Virginia Harjo's"  # the small model takes the possessive in
    assert next(pii_ner.en_entities(doc)).text == "Virginia Harjo"


@pytest.mark.parametrize("text, expected", [
    # a street line with the apartment line under it, the town, and the country with its postcode
    ("Ornella Toscani\n\n805 Rengaskuja\n Apt. 26\n MARTTILA\n Finland 21800", "<PERSON_1>\n\n<ADDRESS_1>"),
    ("> 95 Haugesmauet\n> Apt. 428\n> BERGEN\n> Norway 5005", "> <ADDRESS_1>"),
    ("My zip code is 691 72", "My zip code is <ADDRESS_1>"),
    ("Kimmo had his address: 332 Törneby, GUALÖV", "<PERSON_1> had his address: <ADDRESS_1>"),
])
def test_english_address_blocks(masker, text, expected):
    assert masked(masker, text) == [expected]


@pytest.mark.parametrize("text, expected", [
    # a street named without its number, before "St." or "street"; "street food" is no street
    ("Stop at the corner of Via Acrone St. and Pod Strání St. please",
     "Stop at the corner of <ADDRESS_1> and <ADDRESS_2> please"),
    ("Ferdinando lives on Östanlid street.", "<PERSON_1> lives on <ADDRESS_1>."),
    ("I love New York street food.", "I love <LOCATION_1> street food."),
    # a post-office box; a house number and a name closing the sentence, but not a time
    ("Send the forms to P.O. Box 211 by Friday.", "Send the forms to <ADDRESS_1> by Friday."),
    ("The restaurant is at 793 San Andrés", "The restaurant is at <ADDRESS_1>"),
    ("See you at 10 AM.", "See you at 10 AM."),
    # a company's address line keeps its postcode, and the phone on the next line stays a phone
    ("Nordic Tools Ltd\nDe Veurs Comberg 429, Waasten, 7784\n0480 66 01 75 office",
     "<ORGANIZATION_1>\n<ADDRESS_1>\n<PHONE_1> office"),
])
def test_english_streets_without_numbers_boxes_and_address_lines(masker, text, expected):
    assert masked(masker, text) == [expected]
