"""ft_lab.rundir: the layout, the event definitions (and docs/runs.md's table), statuses, progress, the lock."""
from pathlib import Path

import pytest

import ft_lab
from ft_lab.rundir import events as ev
from ft_lab.rundir import status as st
from ft_lab.rundir.layout import RunLayout
from ft_lab.rundir.progress import Progress, format_eta, progress_from_events

DOCS = Path(__file__).resolve().parents[1] / "docs" / "runs.md"


def test_docs_runs_md_holds_the_generated_events_table():
    text = DOCS.read_text(encoding="utf-8")
    assert ev.TABLE_BEGIN in text and ev.TABLE_END in text
    assert ev.replace_table(text) == text, ("docs/runs.md's events table differs from ft_lab/rundir/events.py; "
                                            "regenerate it with ft_lab.rundir.events.replace_table")


def test_append_event_refuses_unknown_types_and_missing_fields_under_tests(tmp_path):
    from ft_lab.rundir.reader import append_event, read_events

    with pytest.raises(ev.EventError, match="unknown event type 'nonsense'"):
        append_event(tmp_path, {"type": "nonsense"})
    with pytest.raises(ev.EventError, match="log: missing field max_steps"):
        append_event(tmp_path, {"type": "log", "step": 3})
    with pytest.raises(ev.EventError, match="unknown status 'done'"):
        append_event(tmp_path, {"type": "status", "status": "done"})
    with pytest.raises(ev.EventError, match="field step should be int"):
        append_event(tmp_path, {"type": "checkpoint", "step": "3", "path": "x"})
    assert read_events(tmp_path)[0] == []
    append_event(tmp_path, {"type": "log", "step": 3, "max_steps": 9, "extra": "readers ignore it"})
    assert [e["step"] for e in read_events(tmp_path)[0]] == [3]


def test_a_malformed_event_is_written_with_a_warning_outside_tests(tmp_path, monkeypatch):
    from ft_lab.rundir.reader import append_event, read_events

    monkeypatch.setenv("FT_LAB_STRICT_EVENTS", "0")
    with pytest.warns(RuntimeWarning, match="malformed event"):
        append_event(tmp_path, {"type": "log", "step": 3})
    assert read_events(tmp_path)[0][0]["step"] == 3


def test_every_event_of_a_real_run_matches_its_definition(banking_csv, tiny_model_dir, no_orphan_workers):
    recipe = ft_lab.Recipe(task="classification", data={"path": str(banking_csv)}, model={"max_length": 48},
                           method="full", train={"max_steps": 8, "batch_size": 16, "logging_steps": 4,
                                                 "learning_rate": 0.002},
                           baselines=["tfidf_logreg"])
    handle = ft_lab.run(recipe)
    assert handle.wait(timeout=300) == "completed", handle.error
    events = handle.events()
    problems = {i: ev.check_event(e) for i, e in enumerate(events)}
    assert not any(problems.values()), {i: p for i, p in problems.items() if p}
    kinds = {e["type"] for e in events}
    assert {"status", "phase", "model", "train_begin", "log", "eval", "checkpoint", "saved", "baseline"} <= kinds
    statuses = [e for e in events if e["type"] == "status"]
    assert [s["status"] for s in statuses] == ["created", "running", "completed"]
    assert all(s["schema"] == ev.SCHEMA_VERSION for s in statuses[:2])
    previous = None
    for s in statuses:
        assert st.can_follow(previous, s["status"]), (previous, s["status"])
        previous = s["status"]
    p = handle.progress()
    assert (p.step, p.max_steps, p.fraction, p.eta()) == (8, 8, 1.0, None)
    assert p.elapsed() > 0 and p.seconds_per_step > 0
    layout = RunLayout(handle.dir)
    for path in (layout.recipe, layout.info, layout.events, layout.metrics, layout.eval_details, layout.data_report,
                 layout.predictions("base"), layout.predictions("finetuned"), layout.baseline_predictions("tfidf_logreg"),
                 layout.final, layout.checkpoints, layout.worker_log, layout.worker_pid, layout.worker_lock):
        assert path.exists(), path


def test_statuses_and_their_transitions():
    assert set(st.TERMINAL) | set(st.LIVE) == set(st.ALL) and not set(st.TERMINAL) & set(st.LIVE)
    assert st.can_follow(None, "created") and not st.can_follow(None, "running")
    assert st.can_follow("running", "completed") and st.can_follow("stopped", "resuming")
    assert not st.can_follow("completed", "resuming") and not st.can_follow("created", "completed")
    # a follow ends at a terminal status after the latest start, and not before ``since``
    assert st.ended_status([(0, "created"), (1, "running"), (5, "stopped")]) == "stopped"
    assert st.ended_status([(0, "created"), (1, "running"), (5, "stopped"), (6, "resuming")]) is None
    assert st.ended_status([(0, "created"), (1, "running"), (5, "stopped")], since=6) is None


def _log(t, step, loss=1.0):
    return {"type": "log", "time": t, "step": step, "max_steps": 100, "loss": loss}


def test_progress_measures_the_pace_on_the_events_own_times():
    events = [{"type": "status", "status": "created", "time": 0.0},
              {"type": "status", "status": "running", "time": 10.0},
              {"type": "phase", "phase": "train", "time": 11.0},
              {"type": "train_begin", "time": 20.0, "step": 0, "max_steps": 100},
              _log(40.0, 10, 2.5), _log(60.0, 20, 2.0)]
    p = progress_from_events(events)
    assert (p.status, p.phase, p.step, p.max_steps, p.loss) == ("running", "train", 20, 100, 2.0)
    assert p.seconds_per_step == 2.0 and p.eta() == 160.0 and p.fraction == 0.2
    assert p.elapsed(now=100.0) == 90.0
    # the same log read all at once later (a reopened notebook, the sidebar) gives the same ETA
    assert progress_from_events(events).eta() == 160.0
    # not running: no ETA; the caller's status (after a liveness check) wins over the logged one
    assert p.eta(status="failed") is None
    done = progress_from_events(events + [{"type": "status", "status": "completed", "step": 100, "time": 80.0}])
    assert (done.fraction, done.eta(), done.step, done.elapsed()) == (1.0, None, 100, 70.0)


def test_a_resumed_attempt_gets_its_own_pace():
    events = [{"type": "status", "status": "running", "time": 0.0},
              {"type": "train_begin", "time": 0.0, "step": 0, "max_steps": 100}, _log(100.0, 50),
              {"type": "status", "status": "stopped", "step": 50, "time": 101.0},
              {"type": "status", "status": "resuming", "time": 500.0},
              {"type": "status", "status": "running", "time": 501.0},
              {"type": "train_begin", "time": 510.0, "step": 40, "max_steps": 100}]
    p = progress_from_events(events)
    assert p.step == 40 and p.seconds_per_step is None and p.eta() is None  # no pace of this attempt yet
    p.update(_log(530.0, 50))
    assert p.seconds_per_step == 2.0 and p.eta() == 100.0  # not (530 - 0) / 50 from the first attempt


def test_eta_format_and_the_terminal_printer():
    from ft_lab.cli.terminal import ProgressPrinter

    assert format_eta(75) == "1:15" and format_eta(3725) == "1:02:05"
    lines = []
    printer = ProgressPrinter(lines.append)
    for e in [{"type": "status", "status": "running", "time": 0.0},
              {"type": "train_begin", "time": 0.0, "step": 0, "max_steps": 100}, _log(30.0, 10), _log(60.0, 20)]:
        printer(e)
    assert lines[-1].startswith("step 20/100 (20%)  loss 1.0000") and lines[-1].endswith("ETA 4:00")


def test_the_lock_and_its_holder(tmp_path):
    from ft_lab.rundir.lock import lock_holder, try_lock, write_lock_info

    fd = try_lock(tmp_path)
    assert fd is not None
    try:
        write_lock_info(fd, 4242)
        assert try_lock(tmp_path, wait=0.2) is None and lock_holder(tmp_path) == 4242
    finally:
        import os
        os.close(fd)
    assert lock_holder(tmp_path) is None


def test_the_layout_names_every_path():
    layout = RunLayout("/runs/r1")
    assert layout.recipe == Path("/runs/r1/recipe.yaml") and layout.info.name == "run.json"
    assert layout.predictions("finetuned") == Path("/runs/r1/predictions/finetuned.jsonl")
    assert layout.reviews == Path("/runs/r1/review/reviews.jsonl")
    assert layout.launch_file("commands.sh") == Path("/runs/r1/launch/commands.sh")
    assert layout.data_report == Path("/runs/r1/data/report.json") and layout.final_partial.name == "final.partial"
