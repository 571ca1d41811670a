"""Classification evaluators equal scikit-learn's metrics, streaming or not, and as an evaluate module."""
import random

import pytest
from sklearn import metrics as skm

from eval_run_builder import cls_examples, make_run
from ft_lab.errors import UserError
from ft_lab.evaluation.classification import Accuracy, MacroF1, PrecisionRecallF1
from ft_lab.rundir.predictions import PredictionsFile


@pytest.fixture(scope="module")
def data():
    rng = random.Random(3)
    labels = ["billing", "tech", "sales", "返品"]
    refs = [rng.choice(labels) for _ in range(300)]
    # "other" is only ever predicted, never a reference: sklearn still counts it as a label
    preds = [r if rng.random() < 0.6 else rng.choice(labels + ["other"]) for r in refs]
    return refs, preds, cls_examples(refs, preds)


def test_metrics_equal_sklearn(data):
    refs, preds, examples = data
    out = PrecisionRecallF1().score(examples)
    assert out["accuracy"] == pytest.approx(skm.accuracy_score(refs, preds))
    for avg in ("macro", "micro", "weighted"):
        p, r, f, _ = skm.precision_recall_fscore_support(refs, preds, average=avg, zero_division=0)
        assert out[f"precision_{avg}"] == pytest.approx(p)
        assert out[f"recall_{avg}"] == pytest.approx(r)
        assert out[f"f1_{avg}"] == pytest.approx(f)
    assert Accuracy().score(examples) == {"accuracy": pytest.approx(skm.accuracy_score(refs, preds))}
    assert MacroF1().score(examples)["macro_f1"] == pytest.approx(
        skm.f1_score(refs, preds, average="macro", zero_division=0))
    assert all(isinstance(v, float) for v in out.values())


def test_details_per_class_and_confusion_matrix_equal_sklearn(data):
    refs, preds, examples = data
    det = Accuracy().details(examples)
    labels = det["confusion_matrix"]["labels"]
    assert labels == sorted(set(refs) | set(preds))
    assert det["confusion_matrix"]["matrix"] == skm.confusion_matrix(refs, preds, labels=labels).tolist()
    p, r, f, s = skm.precision_recall_fscore_support(refs, preds, labels=labels, zero_division=0)
    for i, lab in enumerate(labels):
        row = det["per_class"][lab]
        assert (row["precision"], row["recall"], row["f1"], row["support"]) == pytest.approx((p[i], r[i], f[i], s[i]))
    top = det["most_confused"][0]
    assert top["reference"] != top["prediction"] and top["count"] == max(
        n for (a, b), n in __import__("collections").Counter(zip(refs, preds)).items() if a != b)


def test_per_example_is_correctness(data):
    refs, preds, examples = data
    assert Accuracy().per_example(examples) == [float(r == p) for r, p in zip(refs, preds)]


def test_streaming_from_predictions_file_matches_list(tmp_path, data):
    refs, preds, examples = data
    run = make_run(tmp_path, "classification", None, examples)
    lazy = PredictionsFile(run / "predictions" / "finetuned.jsonl")
    assert PrecisionRecallF1().score(lazy) == PrecisionRecallF1().score(examples)
    assert len(lazy) == len(examples)


def test_evaluate_module_matches(data):
    from ft_lab.evaluation.metrics import load

    refs, preds, _ = data
    out = load("ft_lab_classification").compute(predictions=preds, references=refs)
    assert out["f1_weighted"] == pytest.approx(skm.f1_score(refs, preds, average="weighted", zero_division=0))
    assert out["confusion_matrix"]["matrix"] == skm.confusion_matrix(
        refs, preds, labels=out["confusion_matrix"]["labels"]).tolist()


def test_labels_config_checked():
    ex = cls_examples(["a", "b", "c"], ["a", "b", "b"])
    ev = PrecisionRecallF1(PrecisionRecallF1.Config(labels=["a", "b"]))
    with pytest.raises(UserError, match="'c'|c are not in the configured labels"):
        ev.score(ex)
    with pytest.raises(ValueError, match="averages: unknown 'samples'"):
        PrecisionRecallF1.Config(averages=["samples"])
    assert PrecisionRecallF1().score([])["accuracy"] == 0.0
