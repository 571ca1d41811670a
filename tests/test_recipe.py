import pytest
import yaml

from conftest import ft_lab_cli, write_recipe
from ft_lab import Recipe, RecipeError


def test_recipe_yaml_round_trips_exactly(tmp_path, banking_csv):
    path = write_recipe(tmp_path, f"""
task: classification
data: {{path: {banking_csv.name}, columns: {{text: text, label: category}}}}
clean: [normalize, {{name: dedup, ignore_case: true}}]
model: {{name_or_path: tiny, max_length: 64}}
method: {{name: lora, r: 4, target_modules: [q_proj, v_proj]}}
train: {{learning_rate: 0.001, epochs: 2}}
evaluate: [accuracy]
""")
    recipe = Recipe.from_yaml(path)
    assert recipe.method.config.r == 4 and recipe.clean[1].config.ignore_case is True
    assert Recipe.from_yaml(recipe.to_yaml(), base_dir=str(tmp_path)) == recipe
    minimal = yaml.safe_load(recipe.to_yaml(minimal=True))
    assert minimal["method"] == {"name": "lora", "r": 4, "target_modules": ["q_proj", "v_proj"]}
    assert minimal["clean"] == [{"name": "normalize"}, {"name": "dedup", "ignore_case": True}]
    saved = recipe.save(tmp_path / "again.yaml")
    assert Recipe.from_yaml(saved) == recipe


def test_python_object_is_the_same_recipe(tmp_path, banking_csv):
    recipe = Recipe(task="classification", data={"path": str(banking_csv)}, method={"name": "lora", "r": 8})
    assert recipe.method.name == "lora" and recipe.evaluate[0].name == "accuracy"
    namespace = {}
    exec(recipe.to_python(), namespace)
    assert namespace["recipe"] == recipe


def test_every_problem_is_listed_with_its_path(tmp_path, banking_csv):
    with pytest.raises(RecipeError) as info:
        Recipe.from_dict({"task": "classification", "data": {"path": str(banking_csv)},
                          "method": {"name": "lora", "r": "eight"}, "clean": [{"name": "dedupe"}],
                          "train": {"epochs": 0, "batch_sise": 4}})
    problems = info.value.problems
    assert 'method.r: expected an integer, got "eight"' in problems
    assert any(p.startswith("clean[0]: unknown cleaner 'dedupe'; did you mean 'dedup'?") for p in problems)
    assert any(p.startswith("train.batch_sise: unknown field; did you mean 'batch_size'?") for p in problems)


def test_missing_data_file_and_sections(tmp_path):
    # parsing checks the recipe alone; with check_environment the missing file is listed in the same error
    with pytest.raises(RecipeError) as info:
        Recipe.from_dict({"data": {"path": str(tmp_path / "nope.csv")}}, check_environment=True)
    text = str(info.value)
    assert "task: required section is missing" in text
    assert f"data.path: file not found: {tmp_path / 'nope.csv'}" in text


def test_parsing_is_pure_and_the_environment_is_checked_apart(tmp_path):
    from ft_lab.core.environment import check_environment, environment_problems

    plain = {"task": "classification", "data": {"path": str(tmp_path / "gone.csv")},
             "launch": {"strategy": "deepspeed", "deepspeed_config": "ds.json"}}
    recipe = Recipe.from_dict(plain, base_dir=str(tmp_path))  # a run copied elsewhere: its files are gone
    assert recipe.data.path == str(tmp_path / "gone.csv")
    assert Recipe.from_yaml(recipe.to_yaml()) == recipe
    assert environment_problems(recipe)[:2] == [f"data.path: file not found: {tmp_path / 'gone.csv'}",
                                                f"launch.deepspeed_config: file not found: {tmp_path / 'ds.json'}"]
    with pytest.raises(RecipeError, match="data.path: file not found"):
        check_environment(recipe)
    (tmp_path / "gone.csv").write_text("text,label\na,b\n")
    (tmp_path / "ds.json").write_text('{"zero_optimization": {"stage": 3}}')
    assert any("ZeRO stage 3" in p for p in environment_problems(recipe))


def test_cli_reports_invalid_recipe_with_exit_2_and_no_traceback(tmp_path, banking_csv):
    path = write_recipe(tmp_path, f"""
task: classification
data: {{path: {banking_csv}}}
method: {{name: lora, r: eight}}
clean: [dedupe]
""")
    for command in ("validate", "run"):
        result = ft_lab_cli(command, str(path))
        assert result.returncode == 2, result.stderr
        assert f'error: {path}: method.r: expected an integer, got "eight"' in result.stderr
        assert "unknown cleaner 'dedupe'; did you mean 'dedup'?" in result.stderr
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_broken_yaml_names_the_line(tmp_path):
    path = write_recipe(tmp_path, "task: classification\ndata: {path: [\n")
    result = ft_lab_cli("validate", str(path))
    assert result.returncode == 2
    assert "not valid YAML" in result.stderr and "line " in result.stderr


def test_method_that_does_not_support_the_task_is_refused(tmp_path, banking_csv):
    from ft_lab.core.components import Capabilities
    from ft_lab.core.plugins import get_registry

    reg = get_registry()
    cls = reg.get("method", "full")
    old = cls.capabilities
    cls.capabilities = Capabilities(tasks=("generation",))
    try:
        with pytest.raises(RecipeError, match="method: 'full' does not support classification"):
            Recipe(task="classification", data={"path": str(banking_csv)}, method="full")
    finally:
        cls.capabilities = old
