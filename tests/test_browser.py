"""Lessons 1 and 4 run in JupyterLab in headless Chromium, and their widgets work.

nbclient runs the notebooks without a front end, so it never renders a widget
or runs a widget callback from a browser event. These tests start JupyterLab
on 127.0.0.1 (``browser_lab.lab_server``), open each notebook in Chromium
driven by Playwright, run every cell in quick mode and check that no cell
shows an error. Then they use the lesson's widgets as a learner would:

- lesson 4: drag a latent-direction slider of the ``LatentExplorer``; the
  digit image changes;
- lesson 1: press the toy GAN's "Bouncer trains" button; the D(x) heatmap of
  the ``TrainingPlayground`` changes.

Screenshots go to ``test-artifacts/browser/`` at the repository root, or to
the folder in ``GAN_LESSONS_BROWSER_ARTIFACTS``; each test first deletes the
files it is about to write. Without Chromium or Playwright the tests that
need them skip, unless ``CI`` is set to a value other than 0, false, no or
off, where they fail. Deselect them with ``-m "not browser"``.

SIGINT or SIGTERM during these tests stops the server and its kernels and
ends the pytest session.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import browser_lab
import nbformat
import numpy as np
import pytest

from gan_lessons import notebook
from gan_lessons.latent import LatentExplorer
from gan_lessons.widgets import TrainingPlayground

NOTEBOOK_DIR = browser_lab.ROOT / "notebooks"

# Seconds for a whole notebook in quick mode. In this test lesson 4 took about
# 80 s and lesson 1 about 45 s on 2 CPU cores shared with other jobs.
RUN_ALL_TIMEOUT = 300
# Seconds for a widget callback to send its new image.
WIDGET_TIMEOUT = 60
# The browser window; wide enough for the training playground's figure
# (960 pixels) beside JupyterLab's side bar.
VIEWPORT = {"width": 1400, "height": 1000}
# Share of the training figure's width taken by the D(x) panel on its left:
# the gridspec starts at 0.05 and gives the panel 1.25 of 3.25 width units
# of the remaining 0.93.
HEATMAP_WIDTH_SHARE = 0.05 + 0.93 * 1.25 / 3.25
# An image with fewer distinct colours than this is taken as blank. A digit
# drawn in grey levels has dozens.
MIN_COLOURS = 16

# Screenshot files by notebook. ``open_notebook`` deletes them, and the
# console log and the page screenshot it writes itself, before the notebook
# opens.
LATENT_BEFORE = "04_latent_space-explorer-before.png"
LATENT_AFTER = "04_latent_space-explorer-after-drag.png"
LATENT_DIFFERENCE = "04_latent_space-explorer-difference.png"
TRAINING_BEFORE = "01_bouncer-training-before.png"
TRAINING_AFTER = "01_bouncer-training-after-step.png"
TRAINING_DIFFERENCE = "01_bouncer-training-difference.png"
SCREENSHOTS = {
    "04_latent_space.ipynb": (LATENT_BEFORE, LATENT_AFTER, LATENT_DIFFERENCE),
    "01_bouncer.ipynb": (TRAINING_BEFORE, TRAINING_AFTER, TRAINING_DIFFERENCE),
}


def page_artifacts(name: str) -> tuple[str, str]:
    """Returns the console log and end-of-test screenshot names of a notebook."""
    stem = Path(name).stem
    return f"{stem}-console.log", f"{stem}-page-at-end.png"


@pytest.fixture(scope="module", autouse=True)
def stop_signals() -> Iterator[browser_lab.StopSignalGuard]:
    """SIGINT and SIGTERM raise KeyboardInterrupt while this module runs."""
    browser_lab.STOP_SIGNALS.install()
    try:
        yield browser_lab.STOP_SIGNALS
    finally:
        browser_lab.STOP_SIGNALS.uninstall()


@pytest.fixture(scope="module")
def chromium() -> str:
    """Path of the Chromium executable; see ``browser_lab.require_browser``."""
    return browser_lab.require_browser()


@pytest.fixture(scope="module")
def artifacts() -> Path:
    """Folder of the screenshots."""
    return browser_lab.artifacts_dir()


@pytest.fixture(scope="module")
def lab(
    chromium: str,
    artifacts: Path,
    jax_cache_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[browser_lab.LabServer]:
    """JupyterLab serving copies of lessons 1 and 4 from a temporary folder.

    The copies keep JupyterLab's saves out of the real notebooks.
    """
    root = tmp_path_factory.mktemp("lab-root")
    for name in ("01_bouncer.ipynb", "04_latent_space.ipynb"):
        shutil.copy(NOTEBOOK_DIR / name, root / name)
    env = dict(jax_cache_env)
    # As in the notebook tests: the kernels see the machine's devices unless
    # the caller chose platforms.
    env.pop("JAX_PLATFORMS", None)
    if "JAX_PLATFORMS" in os.environ:
        env["JAX_PLATFORMS"] = os.environ["JAX_PLATFORMS"]
    env[notebook.QUICK_ENV] = "1"
    home = tmp_path_factory.mktemp("jupyter-home")
    with browser_lab.lab_server(
        root, home, env, artifacts / "jupyter-server.log"
    ) as server:
        yield server


@pytest.fixture(scope="module")
def browser(
    chromium: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[object]:
    """Headless Chromium driven by Playwright.

    The browser's home, configuration and cache folders are temporary, so it
    writes no crash reports or caches into the user's home.
    """
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    home = tmp_path_factory.mktemp("chromium-home")
    env = dict(
        os.environ,
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True, env=env
        )
        try:
            yield browser
        finally:
            try:
                browser.close()
            except PlaywrightError:
                # A browser whose driver has exited cannot be closed and is
                # gone already; see browser_lab.exit_if_browser_lost.
                if browser.is_connected():
                    raise


@pytest.fixture
def open_notebook(
    browser,
    lab: browser_lab.LabServer,
    artifacts: Path,
    stop_signals: browser_lab.StopSignalGuard,
):
    """Returns a function that opens a notebook, by name, in a fresh page.

    Opening deletes the notebook's artefacts of earlier runs. When the test
    ends, passed or failed, a screenshot of the page and the page's console
    messages are saved, and the kernel is shut down. After SIGINT or
    SIGTERM, or when Chromium or the Playwright driver has exited, the
    session ends instead of running more browser tests.
    """
    stop_signals.exit_if_stopped()
    browser_lab.exit_if_browser_lost(browser)
    opened: list[browser_lab.NotebookPage] = []

    def open_notebook_page(name: str) -> browser_lab.NotebookPage:
        browser_lab.remove_artifacts(
            artifacts, (*SCREENSHOTS.get(name, ()), *page_artifacts(name))
        )
        page = browser.new_page(viewport=VIEWPORT)
        page.set_default_timeout(WIDGET_TIMEOUT * 1000)
        notebook_page = browser_lab.NotebookPage(page, lab, name)
        opened.append(notebook_page)
        notebook_page.open()
        return notebook_page

    yield open_notebook_page

    # The server's shutdown also ends any kernel left running here.
    try:
        for notebook_page in opened:
            console_log, page_at_end = page_artifacts(notebook_page.name)
            (artifacts / console_log).write_text(
                "\n".join(notebook_page.console) + "\n"
            )
            if stop_signals.received:
                continue
            try:
                notebook_page.page.screenshot(path=str(artifacts / page_at_end))
                notebook_page.shutdown_kernel()
            finally:
                notebook_page.page.close()
    finally:
        stop_signals.exit_if_stopped()
        browser_lab.exit_if_browser_lost(browser)


def run_whole_notebook(notebook_page: browser_lab.NotebookPage) -> None:
    finished = notebook_page.run_all(RUN_ALL_TIMEOUT)
    problems = notebook_page.cell_problems()
    assert problems == [], f"{notebook_page.name}: {problems}"
    assert finished, f"{notebook_page.name}: run-all stopped before the last cell"


def rendered_png_outputs(page, widget) -> int:
    """Counts PNG outputs that JupyterLab rendered in the widget's output area."""
    output_area = page.locator(".jp-OutputArea", has=widget).last
    return output_area.locator(".jp-RenderedImage").count()


@pytest.mark.browser
def test_latent_explorer_slider_in_browser(open_notebook, artifacts):
    lesson = open_notebook("04_latent_space.ipynb")
    run_whole_notebook(lesson)
    page = lesson.page

    explorer = page.locator(f".{LatentExplorer.DOM_CLASS}")
    assert explorer.count() == 1
    # The output contains the widget and a PNG fallback, and only the widget shows.
    assert rendered_png_outputs(page, explorer) == 0
    assert browser_lab.clipped_texts(explorer) == []
    image = explorer.locator(".widget-image")
    slider = explorer.locator(".widget-slider").first
    assert "direction 1" in slider.inner_text()
    readout = slider.locator(".widget-readout")
    assert readout.inner_text() == "0.00"

    image.scroll_into_view_if_needed()
    # The widget shows the PNG at its own size.
    rendered_width, png_width = browser_lab.rendered_and_natural_width(image)
    assert rendered_width == png_width
    before = browser_lab.screenshot_array(image, artifacts / LATENT_BEFORE)
    assert browser_lab.distinct_colours(before) >= MIN_COLOURS
    old_source = image.evaluate("(element) => element.src")

    browser_lab.drag_slider(page, slider, fraction=0.3)
    lesson.wait_for_new_image(image, old_source, WIDGET_TIMEOUT)
    assert readout.inner_text() != "0.00"

    after = browser_lab.screenshot_array(image, artifacts / LATENT_AFTER)
    browser_lab.save_difference(before, after, artifacts / LATENT_DIFFERENCE)
    assert browser_lab.distinct_colours(after) >= MIN_COLOURS
    assert browser_lab.changed_fraction(before, after) > 0.01
    assert lesson.cell_problems() == []


@pytest.mark.browser
def test_training_step_button_in_browser(open_notebook, artifacts):
    lesson = open_notebook("01_bouncer.ipynb")
    run_whole_notebook(lesson)
    page = lesson.page

    playground = page.locator(f".{TrainingPlayground.DOM_CLASS}")
    assert playground.count() == 1
    assert rendered_png_outputs(page, playground) == 0
    assert browser_lab.clipped_texts(playground) == []
    image = playground.locator(".widget-image")
    button = playground.locator(".widget-button", has_text="Bouncer trains")
    status = playground.locator(".widget-html")
    status_before = status.inner_text()

    image.scroll_into_view_if_needed()
    # The widget shows the PNG at its own size.
    rendered_width, png_width = browser_lab.rendered_and_natural_width(image)
    assert rendered_width == png_width
    before = browser_lab.screenshot_array(image, artifacts / TRAINING_BEFORE)
    assert browser_lab.distinct_colours(before) >= MIN_COLOURS
    old_source = image.evaluate("(element) => element.src")

    button.click()
    lesson.wait_for_new_image(image, old_source, WIDGET_TIMEOUT)

    after = browser_lab.screenshot_array(image, artifacts / TRAINING_AFTER)
    browser_lab.save_difference(before, after, artifacts / TRAINING_DIFFERENCE)
    heatmap_columns = int(before.shape[1] * HEATMAP_WIDTH_SHARE)
    heatmap_change = browser_lab.changed_fraction(
        before[:, :heatmap_columns], after[:, :heatmap_columns]
    )
    assert heatmap_change > 0.01
    # The status line counts the updates, so one more update changes it.
    assert status.inner_text() != status_before
    assert lesson.cell_problems() == []


@pytest.mark.browser
def test_cell_error_is_reported(open_notebook, lab):
    cells = [
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("1 / 0"),
        nbformat.v4.new_code_cell("y = 2"),
    ]
    broken = nbformat.v4.new_notebook(cells=cells)
    broken.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nbformat.write(broken, lab.root_dir / "broken.ipynb")

    lesson = open_notebook("broken.ipynb")
    assert not lesson.run_all(RUN_ALL_TIMEOUT)
    # The output area may render the traceback a moment after the run ends.
    traceback = lesson.page.locator(".jp-OutputArea-output", has_text="Traceback")
    traceback.first.wait_for()
    problems = lesson.cell_problems()
    assert any(p.startswith("cell 1: ZeroDivisionError") for p in problems), problems
    assert any(p.startswith("cell 1 DOM:") for p in problems), problems
    assert "cell 2: did not run" in problems, problems
    assert not any(p.startswith("cell 0") for p in problems), problems


def test_external_urls_are_detected():
    assert browser_lab.is_external_url("https://colab.research.google.com/x.svg")
    assert browser_lab.is_external_url("ws://example.org/api/kernels")
    assert not browser_lab.is_external_url("http://127.0.0.1:8888/lab")
    assert not browser_lab.is_external_url("ws://localhost:8888/api/kernels")
    assert not browser_lab.is_external_url("blob:http://127.0.0.1:8888/1234")
    assert not browser_lab.is_external_url("data:image/png;base64,AAAA")


def test_changed_fraction_counts_pixels():
    before = np.zeros((4, 5, 3), np.uint8)
    after = before.copy()
    after[0, 0, 1] = 7
    after[3, 4] = 255
    assert browser_lab.changed_fraction(before, after) == pytest.approx(2 / 20)
    assert browser_lab.changed_fraction(before, before) == 0.0


def test_changed_fraction_rejects_other_size():
    with pytest.raises(ValueError, match="shapes"):
        browser_lab.changed_fraction(
            np.zeros((4, 5, 3), np.uint8), np.zeros((5, 4, 3), np.uint8)
        )


def test_missing_browser_skips_or_fails(monkeypatch, tmp_path):
    monkeypatch.setenv(browser_lab.CHROMIUM_ENV, str(tmp_path / "no-chromium"))
    reason = browser_lab.missing_browser_reason()
    assert reason is not None
    assert "no-chromium" in reason
    assert "apt-get install" in reason

    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install"):
        browser_lab.require_browser()

    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        browser_lab.require_browser()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", True),
        ("1", True),
        ("yes", True),
        ("", False),
        ("0", False),
        ("false", False),
        ("False", False),
        ("no", False),
        (" off ", False),
    ],
)
def test_ci_values(monkeypatch, value, expected):
    monkeypatch.setenv("CI", value)
    assert browser_lab.ci_is_set() is expected


def test_ci_false_skips_missing_browser(monkeypatch, tmp_path):
    monkeypatch.setenv(browser_lab.CHROMIUM_ENV, str(tmp_path / "no-chromium"))
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="Set CI"):
        browser_lab.require_browser()


def test_remove_artifacts_only_named(tmp_path):
    (tmp_path / "a-before.png").write_bytes(b"old")
    (tmp_path / "other.png").write_bytes(b"keep")
    browser_lab.remove_artifacts(tmp_path, ["a-before.png", "a-after.png"])
    assert not (tmp_path / "a-before.png").exists()
    assert (tmp_path / "other.png").read_bytes() == b"keep"
    with pytest.raises(ValueError, match="is a path"):
        browser_lab.remove_artifacts(tmp_path, ["../other.png"])


def test_stop_signal_raises_keyboard_interrupt():
    guard = browser_lab.StopSignalGuard()
    previous = signal.getsignal(signal.SIGTERM)
    guard.install()
    try:
        with pytest.raises(KeyboardInterrupt, match="SIGTERM"):
            os.kill(os.getpid(), signal.SIGTERM)
            # Python runs the handler between bytecodes, so it raises here.
            time.sleep(1)
        with guard.shielded():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.1)
    finally:
        guard.uninstall()
    assert guard.received == ["SIGTERM", "SIGTERM"]
    assert signal.getsignal(signal.SIGTERM) is previous
    with pytest.raises(pytest.exit.Exception, match="Interrupted by SIGTERM"):
        guard.exit_if_stopped()


def test_kill_processes_finds_other_sessions():
    # The grandchild starts a session of its own, as a Jupyter kernel does.
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time; subprocess.Popen(['sleep', '60'], "
            "start_new_session=True); print('started', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout.readline() == "started\n"
        processes = browser_lab.descendant_processes(parent.pid)
        assert len(processes) == 1
        [sleeper] = processes
        assert os.getpgid(sleeper) != os.getpgid(parent.pid)
        parent.kill()
        parent.wait()
        assert browser_lab.kill_processes(processes, timeout_s=5) == [sleeper]
        # The first call waited until the process exited, so none is left.
        assert browser_lab.kill_processes(processes, timeout_s=5) == []
    finally:
        parent.kill()
        parent.wait()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux prctl")
def test_parent_death_signal_stops_command():
    # The middle process starts `sleep` with the wrapper, prints its PID and
    # dies by SIGKILL, so no cleanup code of its own runs.
    middle = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, signal, subprocess, sys, time; sys.path.insert(0, sys.argv[1]);"
            " import browser_lab; command = browser_lab.with_parent_death_signal("
            "['/bin/sleep', '60']); child = subprocess.Popen(command);"
            " time.sleep(1); print(child.pid, flush=True);"
            " os.kill(os.getpid(), signal.SIGKILL)",
            str(Path(__file__).parent),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert middle.returncode == -signal.SIGKILL, middle.stderr
    sleeper = int(middle.stdout)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(sleeper, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        with contextlib.suppress(ProcessLookupError):
            os.kill(sleeper, signal.SIGKILL)
        pytest.fail(f"sleep (PID {sleeper}) still runs after its parent died")


def test_missing_playwright_is_named(monkeypatch):
    real_find_spec = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        if name == "playwright":
            return None
        return real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    reason = browser_lab.missing_browser_reason()
    assert reason is not None
    assert "playwright is not installed" in reason
