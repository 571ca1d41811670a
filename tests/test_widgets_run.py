"""A run driven from the panels: Start, live progress, results and errors, Stop and Resume, attach,
compare, snapshot. The training happens in the worker process; the panels only read the run directory."""
from __future__ import annotations

import csv
import time

import pytest

import bqplot  # noqa: F401  (hard dependencies: missing is a failure, not a skip)
import ipywidgets  # noqa: F401

from conftest import banking_rows
from waiting import wait_for

# the Studio's Start button (the module's `finished` fixture) trains in a worker process
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("widgets") / "tickets.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["text", "category"])
        w.writeheader()
        w.writerows(banking_rows(per_class=40, classes=5))
    return path


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("widget-runs")


@pytest.fixture(scope="module")
def finished(data_file, runs_dir):
    """A Studio whose Start button ran a 20-step LoRA run on the tiny model to completion."""
    from ft_lab import Studio
    studio = Studio(runs_dir=runs_dir)
    studio.data.path.value = str(data_file)
    studio.data.preview_button.click()
    studio.data.role_widgets["label"].value = "category"
    studio.model.auto_method.value = False  # LoRA here (auto would train tiny fully)
    studio.model.method.form.widgets["r"].value = "4"
    studio.train.form.widgets["max_steps"].value = "20"
    studio.train.form.widgets["logging_steps"].value = "5"
    t0 = time.monotonic()
    studio.train.start_button.click()
    assert studio.handle is not None, studio.train.status.value
    assert studio.train.stop_button.disabled is False and studio.train.start_button.disabled is True
    status = studio.wait(timeout=240)
    return studio, status, time.monotonic() - t0


def test_start_runs_in_a_worker_and_the_metric_table_shows(finished):
    studio, status, elapsed = finished
    assert status == "completed", studio.train.status.value
    assert studio.handle.process is not None and studio.handle.process.returncode == 0  # a worker trained
    train = studio.train
    assert train.progress.value == train.progress.max == 20
    assert "step 20/20" in train.progress_text.value and "tokens/s" in train.progress_text.value
    assert "completed" in train.status.value
    assert len(train.chart.train.y) >= 3  # the live loss curve got the log events
    # at most four redraws a second (the follower batches events)
    assert train.redraws <= 4 * elapsed + 2
    value = studio.results.metrics.value
    assert '<table class="ft-lab-metrics">' in value
    for head in ("metric", "base", "fine-tuned", "change"):
        assert f">{head}</th>" in value
    assert "accuracy" in value and "macro_f1" in value
    assert "ft-lab-metrics-widget" in studio.results.metrics._dom_classes
    assert "ft-lab-confusion-grid" in studio.results.confusion.value
    studio.results.normalize.value = True
    assert "% of each reference row" in studio.results.confusion.value
    assert "Per class" in studio.results.per_class.value


def test_css_classes_for_the_browser_test(finished):
    studio = finished[0]
    t = studio.train
    assert "ft-lab-studio" in studio._dom_classes
    assert t.start_button.description == "Start" and "ft-lab-start" in t.start_button._dom_classes
    assert "ft-lab-stop" in t.stop_button._dom_classes and "ft-lab-resume" in t.resume_button._dom_classes
    assert "ft-lab-progress" in t.progress._dom_classes
    assert "ft-lab-progress-text" in t.progress_text._dom_classes
    assert "ft-lab-status" in t.status._dom_classes


def test_errors_panel_filters_sorts_and_stores_reviews(finished):
    studio = finished[0]
    errors = studio.errors
    assert errors.correct.value == "wrong"  # errors first
    wrong = errors.selected()
    assert all(e["prediction"] != e["reference"] for e in wrong)
    # a classifier's per-example score, chosen from the start: the probability it gave the reference label,
    # worst (most confidently wrong) first; a column of numbers, not of "–"
    assert errors.score.value == "p(reference)" and errors.score.layout.display is None
    scores = [e["scores"]["p(reference)"] for e in wrong]
    assert scores == sorted(scores) and "p(reference)</th>" in errors.table.value
    assert f"{len(wrong)} of 20 examples" in errors.count.value
    if wrong:  # predicted labels as red tags, no character diff
        assert "ft-lab-wrong" in errors.table.value and "<del>" not in errors.table.value
    errors.correct.value = "all"
    assert "20 of 20 examples" in errors.count.value
    assert "<table" in errors.table.value
    if errors.pairs_box.children and hasattr(errors.pairs_box.children[0], "click"):
        errors.pairs_box.children[0].click()
        assert all(e["reference"] == errors.label.value for e in errors.selected())
    errors.sort.value = "id"
    ids = [e["id"] for e in errors.selected()]
    assert ids == sorted(ids)
    errors.search.value = "card"
    assert all("card" in (e["input"] + e["reference"] + e["prediction"]).lower() or "card" in str(e)
               for e in errors.selected())
    assert "<table" in errors.slices.value
    errors.review_id.value = errors.review_id.options[0][1]
    errors.rating.value = 4
    errors.comment.value = "label is ambiguous"
    errors.save_review.click()
    from ft_lab.analysis import ReviewStore
    reviews = ReviewStore(studio.handle.dir).reviews()
    assert list(reviews.values())[0]["rating"] == 4
    assert "saved" in errors.review_status.value


def test_snapshot_is_static_html(finished, capsys):
    studio = finished[0]
    html = studio.snapshot_html()
    assert '<table class="ft-lab-metrics">' in html and "<svg" in html and "ft-lab-confusion" in html
    from unittest import mock
    with mock.patch("IPython.display.display") as display:
        studio.snapshot()
    shown = display.call_args[0][0]
    assert '<table class="ft-lab-metrics">' in shown._repr_html_()


def test_a_saved_notebook_shows_the_studio_and_its_finished_run_without_the_widget(finished, runs_dir):
    """The Studio's output carries a static view beside the live one (text/html, shown where the widget
    cannot be: untrusted, no kernel): the steps, the current one's content, the run's verdict and metrics,
    the loss curve as an image (JupyterLab's sanitiser drops inline SVG), no style block."""
    import re

    from ft_lab import Studio
    from ft_lab.widgets.runs_panel import RunsPanel
    studio = finished[0]
    studio.tabs.selected_index = 1  # the Model step
    bundle = studio._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    view = bundle["text/html"]
    assert "ft-lab-static-view" in view and "<b>Model</b> · Train" in view and "<b>Model</b> tiny" in view
    assert "ft-lab-verdict" in view and "is best:" in view and '<table class="ft-lab-metrics">' in view
    assert "<img alt='chart' src='data:image/svg+xml;base64," in view and studio.handle.id in view
    assert not re.search(r"<svg\b|<style\b|\b(?:hsla?|rgba?)\(|<button", view), view[:2000]
    studio.tabs.selected_index = 0  # the Data step with the run's data report: its headings under the title's
    studio.data.load_report(studio.handle.dir)
    data_view = studio.static_html()
    assert "Data report" in data_view and "Duplicates" in data_view
    assert re.findall(r"<h[12]\b[^>]*>([^<]*)", data_view) == ["ft-lab Studio"], data_view[:1500]
    fresh = Studio(runs_dir=runs_dir)._repr_mimebundle_()["text/html"]  # no run yet: the Data step, its fields
    assert "<b>Data</b> · Model" in fresh and "<b>Data file</b>" in fresh and "ft-lab-verdict" not in fresh
    runs = RunsPanel(runs_dir)._repr_mimebundle_()["text/html"]
    assert "ft-lab-static-view" in runs and studio.handle.id in runs and "completed" in runs


def test_attach_picks_up_a_run_from_its_directory(finished):
    from ft_lab import Studio
    studio = Studio.attach(finished[0].handle.dir)
    assert studio.wait(timeout=30) == "completed"
    assert '<table class="ft-lab-metrics">' in studio.results.metrics.value
    assert studio.recipe() == finished[0].handle.recipe()


def test_playground_answers_with_both_models_in_another_process(finished):
    import sys
    studio = finished[0]
    pg = studio.playground
    assert pg.run.value == str(studio.handle.dir)  # the run just finished is picked
    assert pg.max_new_tokens.layout.display == "none"  # a classifier answers with a label: no "New tokens"
    pg.prompt.value = "my card was stolen\nI want to top up"
    mods = set(sys.modules)
    pg.try_button.click()
    result = pg.wait(timeout=300)
    assert result and result["ok"], result
    assert len(result["base"]) == len(result["finetuned"]) == 2
    labels = set(studio.errors.label.options) - {"(any)"}
    assert set(result["finetuned"]) <= labels
    assert "fine-tuned model" in pg.answers.value and pg.answers.value.count("<tr>") == 3
    assert "background" not in pg.answers.value  # differing answers in bold, not pale green ("correct")
    assert ("torch" in sys.modules) == ("torch" in mods)  # the models ran in another process
    assert not pg.try_button.disabled


def test_export_step_writes_adapter_and_model_card(finished, tmp_path):
    studio = finished[0]
    ex = studio.exporter
    ex.export_button.click()
    assert "give a new folder" in ex.status.value and ex.job is None
    ex.out.value = str(tmp_path / "exported")
    ex.export_button.click()
    result = ex.wait(timeout=300)
    assert result and result["ok"], result
    assert (tmp_path / "exported" / "README.md").exists() and (tmp_path / "exported" / "adapter_config.json").exists()
    assert "## Evaluation" in ex.card.value and "adapter_config.json" in ex.status.value
    ex.export_button.click()  # the folder is taken now: said in the panel, nothing overwritten
    result = ex.wait(timeout=300)
    assert not result["ok"] and "already exists" in ex.status.value


def test_serve_step_over_tls_the_try_it_box_and_the_monitor_step(finished, tmp_path):
    """The Serve section (Export step) starts `ft-lab serve` on the finished run with a new key file and a self-signed
    certificate; the real openai client completes a TLS handshake verified with that certificate (and fails
    without it); the try-it box answers; the Monitor view below shows the request and takes a correction; Stop."""
    import ssl

    import httpx
    import openai

    from serve_support import self_signed_cert
    studio = finished[0]
    sv, mon = studio.serve, studio.monitor
    assert sv.run.value == str(studio.handle.dir)  # the run just finished is picked
    cert, key = self_signed_cert(tmp_path)
    serve_dir = tmp_path / "serve"
    sv.serve_dir.value, sv.certfile.value = str(serve_dir), str(cert)
    sv.start_button.click()  # a certificate without its key: said, nothing started
    assert "TLS: give both" in sv.status.value and sv.server is None
    sv.keyfile.value = str(key)
    sv.start_button.click()
    try:
        assert sv.wait_started(300), sv.status.value
        url = sv.server.url
        assert url.startswith("https://127.0.0.1:") and url in sv.status.value
        key_file = serve_dir / "api-key"
        secret = key_file.read_text(encoding="utf-8").strip()
        assert key_file.stat().st_mode & 0o777 == 0o600 and len(secret) >= 32
        assert str(key_file) in sv.status.value and secret not in sv.status.value  # where it is, never the key
        verified = ssl.create_default_context(cafile=str(cert))
        with openai.OpenAI(base_url=url, api_key=secret, max_retries=0,
                           http_client=httpx.Client(verify=verified)) as client:
            assert [m.id for m in client.models.list().data] == [studio.handle.dir.name]
            with pytest.raises(openai.APIConnectionError):  # the system's authorities do not know this certificate
                openai.OpenAI(base_url=url, api_key=secret, max_retries=0).models.list()
            with pytest.raises(openai.AuthenticationError):
                client.with_options(api_key="wrong-key-123456").models.list()
        sv.prompt.value = "my card was stolen"
        sv.send_button.click()
        assert "request <code>req-" in sv.answer.value, sv.answer.value
        labels = set(studio.errors.label.options) - {"(any)"}
        answer = sv.send()
        assert answer and answer["label"] in labels and answer["id"] in sv.answer.value, sv.answer.value
        assert mon.folder.value == str(serve_dir) and answer["id"] in mon.request.options
        assert "requests" in mon.summary.value and "my card was stolen" in mon.table.value
        mon.request.value, mon.label.value = answer["id"], sorted(labels - {answer["label"]})[0]
        mon.bad.click()
        assert "feedback stored" in mon.message.value
        assert [(f["request_id"], f["label"]) for f in mon.store.feedbacks()] == [(answer["id"], mon.label.value)]
    finally:
        sv.stop_button.click()
    assert not sv.server.running and "stopped" in sv.status.value and sv.start_button.disabled is False
    sv.send_button.click()
    assert "start the server first" in sv.answer.value


def test_stop_resume_and_compare_two_runs(finished, data_file, runs_dir):
    from ft_lab import Studio
    studio = Studio.from_recipe(finished[0].handle.recipe(), runs_dir=runs_dir)
    studio.train.form.widgets["max_steps"].value = "60"
    studio.train.form.widgets["save_steps"].value = "5"
    studio.train.start_button.click()
    handle = studio.handle
    wait_for(lambda: any(e.get("type") == "log" for e in handle.events()), "the first training log", timeout=300,
             poll=0.2)
    studio.train.stop_button.click()
    assert studio.wait(timeout=300) == "stopped", studio.train.status.value
    assert "stopped at step" in studio.train.status.value
    assert studio.train.resume_button.disabled is False
    studio.train.resume_button.click()
    # the follower goes on past the old "stopped" to the resumed run's end (no wall-clock guess)
    assert studio.wait(timeout=600) == "completed", studio.train.status.value
    assert "completed" in studio.train.status.value and studio.train.progress.value == 60
    assert '<table class="ft-lab-metrics">' in studio.results.metrics.value

    # after a kernel restart: a new Studio offers the run and attaches to it
    fresh = Studio(runs_dir=runs_dir)
    assert str(handle.dir) in [v for _l, v in fresh.recent.options]
    fresh.recent.value = str(handle.dir)
    fresh.attach_button.click()
    assert fresh.wait(timeout=60) == "completed" and fresh.handle.dir == handle.dir

    runs = studio.runs
    runs.refresh_button.click()
    assert finished[0].handle.id in runs.table.value and handle.id in runs.table.value
    runs.run_a.value, runs.run_b.value = str(finished[0].handle.dir), str(handle.dir)
    runs.compare_button.click()
    assert "ft-lab-compare-metrics" in runs.comparison.value
    assert len(runs.chart.figure.marks) == 2
