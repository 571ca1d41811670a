"""ft-lab-ja is found through its installed entry point, lists its components in `ft-lab plugins`, and
every component passes ft-lab's conformance kit, as any third-party plugin would."""
import json

from ft_lab.core.plugins import load_registry
from ft_lab.testing import parametrize_with_checks
from ft_lab_ja.boilerplate import JaBoilerplate
from ft_lab_ja.evaluators import JaBleu, JaRouge, JaWordF1
from ft_lab_ja.mojibake import JaMojibake
from ft_lab_ja.normalize import JaNormalize

CLEANERS = ["ja_normalize", "ja_boilerplate", "ja_mojibake"]
EVALUATORS = ["ja_bleu", "ja_rouge", "ja_word_f1"]


@parametrize_with_checks([JaNormalize, JaBoilerplate, JaMojibake, JaBleu, JaRouge, JaWordF1,
                          JaNormalize(JaNormalize.Config(spaces="around_japanese", max_repeat=2, tilde="ascii")),
                          JaBleu(JaBleu.Config(analyzer="unidic", form="surface")),
                          JaWordF1(JaWordF1.Config(analyzer="sudachi", split_mode="C", content_only=False))])
def test_conformance(component, check):
    check(component)


def test_the_pack_is_registered_by_its_entry_point():
    registry = load_registry(strict=True)
    assert set(CLEANERS) <= set(registry.names("cleaner"))
    assert set(EVALUATORS) <= set(registry.names("evaluator"))
    assert {registry.owner("cleaner", n) for n in CLEANERS} == {"ft-lab-ja"}
    info = next(p for p in registry.plugins if p.name == "ft-lab-ja")
    assert info.components["cleaners"] == CLEANERS and info.components["evaluators"] == EVALUATORS
    assert not info.builtin and not registry.broken


def test_ft_lab_plugins_lists_the_pack(capsys):
    from ft_lab.cli import main

    assert main(["plugins"]) == 0
    line = next(row for row in capsys.readouterr().out.splitlines() if row.startswith("ft-lab-ja"))
    assert "ja_normalize, ja_boilerplate, ja_mojibake" in line and "ja_bleu, ja_rouge, ja_word_f1" in line
    assert main(["plugins", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    plugins = listed["plugins"] if isinstance(listed, dict) else listed
    pack = next(p for p in plugins if p["name"] == "ft-lab-ja")
    assert pack["components"]["evaluators"] == EVALUATORS


def test_a_bad_setting_is_one_line_naming_the_field(tmp_path, capsys):
    from ft_lab.cli import main

    recipe = tmp_path / "recipe.yaml"
    (tmp_path / "train.jsonl").write_text('{"prompt": "質問", "response": "回答"}\n', encoding="utf-8")
    recipe.write_text("task: generation\ndata: {path: train.jsonl}\n"
                      "evaluate: [{name: ja_word_f1, analyzer: mecab}]\n", encoding="utf-8")
    assert main(["validate", str(recipe)]) != 0
    err = capsys.readouterr().err
    assert "analyzer" in err and '"mecab"' in err and "Traceback" not in err


def test_the_studio_draws_a_form_for_each_component():
    """The Studio's component pickers list the pack and build each form from its Config."""
    import ipywidgets as W

    from ft_lab.widgets.forms import ComponentForm

    form = ComponentForm("cleaner", "ja_normalize")
    assert {"ja_normalize", "ja_boilerplate", "ja_mojibake"} <= set(form.choice.options)
    assert "(ft-lab-ja)" in form.summary.value
    spaces = form.form.widgets["spaces"]
    assert isinstance(spaces, W.Dropdown) and spaces.value == "inside_phrases"
    spaces.value = "between_japanese"
    form.form.widgets["max_repeat"].value = "2"
    assert form.value() == {"name": "ja_normalize", "long_vowel": True, "max_long_vowels": 1, "hyphens": True,
                            "tilde": "wave_dash", "spaces": "between_japanese", "max_repeat": 2}
    form.form.widgets["max_repeat"].value = "0"
    assert "max_repeat must be 1 or more" in form.form.field_errors["max_repeat"].value
    ev = ComponentForm("evaluator", {"name": "ja_word_f1", "analyzer": "unidic"})
    assert ev.value() == {"name": "ja_word_f1", "analyzer": "unidic", "split_mode": "A", "form": "normalized",
                          "content_only": True}
