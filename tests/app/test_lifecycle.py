"""The desktop app as a user runs it: a real process quit from the terminal, and errors nobody caught."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Generator
    from pathlib import Path

    from pytestqt.qtbot import QtBot

START_DEADLINE_S = 60  # a cold start on a loaded machine; polled, so usually a second or two
QUIT_DEADLINE_S = 30


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "STRATOPIPE_DATA_DIR"}
    env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def _wait_for_log(process: subprocess.Popen[str], log_file: Path, text: str) -> None:
    deadline = time.monotonic() + START_DEADLINE_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the app exited early ({process.returncode}): {process.communicate()[1]}")
        if log_file.exists() and text in log_file.read_text(encoding="utf-8"):
            return
        time.sleep(0.05)
    process.kill()
    pytest.fail(f"{text!r} not logged within {START_DEADLINE_S} s")


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_terminal_signal_quits_cleanly_and_saves_the_window(tmp_path: Path, number: signal.Signals) -> None:
    data = tmp_path / "data"
    log_file = data / "logs" / "stratopipe.log"
    ui_ini = data / "config" / "ui.ini"
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "--data-dir", str(data)],
        env=_child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for_log(process, log_file, "Window shown")
        assert not ui_ini.exists() or "geometry" not in ui_ini.read_text()
        process.send_signal(number)
        _out, err = process.communicate(timeout=QUIT_DEADLINE_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    log = log_file.read_text(encoding="utf-8")
    assert f"{number.name} received: quitting" in log
    assert "Shutting down" in log
    assert "StratoPipe shut down (exit status 0)" in log
    assert "Traceback" not in log
    assert "geometry=" in ui_ini.read_text(), "the window state was saved on the way out"


CRASHING_APP = textwrap.dedent(
    """
    import sys
    import threading
    from pathlib import Path

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    from app.lifecycle import CrashReporter
    from app.logging_setup import configure_app_logging

    log_dir = Path(sys.argv[1])
    app = QApplication([])
    reporter = CrashReporter(log_dir, configure_app_logging(log_dir))

    def fail_in_a_slot() -> None:
        raise ValueError("bad value in a slot")

    def fail_in_a_thread() -> None:
        raise KeyError("missing key in a thread")

    def then_a_thread() -> None:
        thread = threading.Thread(target=fail_in_a_thread, name="probe")
        thread.start()
        thread.join()
        QTimer.singleShot(0, show_what_the_user_saw)

    def show_what_the_user_saw() -> None:
        boxes = [w for w in app.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]
        print(len(boxes), boxes[0].text() if boxes else "", sep="\\n")
        print("details:", boxes[0].detailedText().replace("\\n", " | ") if boxes else "")
        app.quit()

    QTimer.singleShot(0, fail_in_a_slot)
    QTimer.singleShot(0, then_a_thread)
    app.exec()
    reporter.uninstall()
    """
)


def test_uncaught_errors_in_a_slot_and_a_thread_reach_the_log_and_the_user(tmp_path: Path) -> None:
    script = tmp_path / "crashing_app.py"  # a file, so tracebacks quote its lines
    script.write_text(CRASHING_APP, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script), str(tmp_path)],
        env=_child_env(),
        capture_output=True,
        text=True,
        timeout=QUIT_DEADLINE_S,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    log = (tmp_path / "stratopipe.log").read_text(encoding="utf-8")
    assert "CRITICAL app.lifecycle: Uncaught error\nTraceback" in log
    assert 'raise ValueError("bad value in a slot")' in log
    assert "Uncaught error in thread probe\nTraceback" in log
    assert "KeyError: 'missing key in a thread'" in log
    boxes, text = result.stdout.splitlines()[:2]
    assert boxes == "1", "one box, updated, not one per error"
    assert text == "Something went wrong: KeyError: 'missing key in a thread'"
    details = result.stdout.splitlines()[2]
    assert "The log's last lines:" in details, "the box carries the recent log for a bug report"
    assert "bad value in a slot" in details, "including the earlier error's traceback"
    assert (tmp_path / "faults.log").exists()


def test_quitting_stops_running_work_and_waits_for_it(qtbot: QtBot) -> None:
    from superqt.utils import GeneratorWorker

    from workers.background import BackgroundWork

    def endless() -> Generator[int, None, None]:
        while True:  # stops only when asked: GeneratorWorker checks quit() between yields
            yield 0

    background = BackgroundWork()
    worker: GeneratorWorker[int, None, None] = GeneratorWorker(endless)
    with qtbot.waitSignal(worker.started, timeout=5000):
        background.start(worker)
    assert background.running == 1
    assert background.quit_and_wait(5000)
    assert background.running == 0
    background.start(GeneratorWorker(endless))  # after quit, new work is refused, not left running
    assert background.running == 0
