from dataclasses import dataclass, field
from typing import Literal, Optional

from ft_lab.core import configs


@dataclass
class Cfg:
    r: int = field(default=8, metadata={"help": "rank"})
    rate: float = 0.1
    mode: Literal["a", "b"] = "a"
    names: Optional[list[str]] = None
    flag: bool = False

    def __post_init__(self):
        if self.r < 1:
            raise ValueError("r must be at least 1")


def test_wrong_types_are_reported_with_path_expected_and_found():
    obj, problems = configs.build(Cfg, {"r": "eight", "rate": "fast", "mode": "c", "flag": "yes"}, "method")
    assert obj is None
    assert 'method.r: expected an integer, got "eight"' in problems
    assert 'method.rate: expected a number, got "fast"' in problems
    assert 'method.mode: expected one of "a", "b", got "c"' in problems[2]
    assert 'method.flag: expected true or false, got "yes"' in problems


def test_unknown_field_suggests_close_name():
    _, problems = configs.build(Cfg, {"mdoe": "a"}, "method")
    assert problems[0].startswith("method.mdoe: unknown field; did you mean 'mode'?")


def test_post_init_check_is_reported_under_the_section():
    _, problems = configs.build(Cfg, {"r": 0}, "method")
    assert problems == ["method: r must be at least 1"]


def test_valid_values_convert_and_round_trip():
    obj, problems = configs.build(Cfg, {"r": 4, "rate": "2e-5", "names": ["q", "v"]}, "x")
    assert problems == [] and obj.rate == 2e-5 and obj.names == ["q", "v"]
    assert configs.to_plain(obj, minimal=True) == {"r": 4, "rate": 2e-5, "names": ["q", "v"]}
    again, _ = configs.build(Cfg, configs.to_plain(obj), "x")
    assert again == obj


def test_json_schema_carries_types_defaults_and_help():
    schema = configs.json_schema(Cfg)
    assert schema["properties"]["r"] == {"type": "integer", "description": "rank", "default": 8}
    assert schema["properties"]["mode"]["enum"] == ["a", "b"]
    assert schema["additionalProperties"] is False


def test_shared_helpers_for_forms_docs_and_schema():
    import dataclasses
    fields = {f.name: f for f in configs.fields_of(Cfg)}
    assert configs.default_of(fields["r"]) == 8
    assert configs.defaults(Cfg)["r"] == 8 and "names" in configs.defaults(Cfg)
    assert configs.split_optional(configs.type_hints(Cfg)["names"])[0] is True
    assert configs.split_optional(int) == (False, int)
    assert all(configs.default_of(f) is not dataclasses.MISSING for f in fields.values())


def test_recipe_sections_are_typed():
    from ft_lab.core.component_spec import ComponentSpec
    from ft_lab.core.recipe import DataSection, ModelSection, Recipe, TaskSection, TrainSection
    hints = configs.type_hints(Recipe)
    assert hints["task"] is TaskSection and hints["data"] is DataSection and hints["model"] is ModelSection
    assert hints["train"] is TrainSection and hints["method"] is ComponentSpec
    assert hints["clean"] == hints["evaluate"] == list[ComponentSpec]
