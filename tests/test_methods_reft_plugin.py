"""The first-party plugin ft-lab-reft is found through its installed entry point, like any third-party
method, and trains through the same conformance kit."""
import warnings

from ft_lab.core.method_checks import check_capabilities
from ft_lab.testing import check_method, single_thread
from ft_lab.core.plugins import load_registry


def test_reft_is_registered_by_its_entry_point():
    registry = load_registry(strict=True)
    assert "reft" in registry.names("method")
    assert registry.owner("method", "reft") == "ft-lab-reft"
    info = next(p for p in registry.plugins if p.name == "ft-lab-reft")
    assert info.components["methods"] == ["reft"] and not info.builtin


def test_reft_trains_from_the_registry_and_declares_its_limits(tmp_path):
    registry = load_registry(strict=True)
    cls = registry.get("method", "reft")
    with warnings.catch_warnings(), single_thread():
        warnings.simplefilter("ignore")
        result = check_method(cls(cls.Config()), "classification", tmp_path, drop=0.5)
    assert result.after < 0.5 * result.before
    problems = check_capabilities({"task": "generation", "train": {"packing": True}}, cls, registry=registry)
    assert len(problems) == 1 and "'reft' does not work with packed sequences" in problems[0]
