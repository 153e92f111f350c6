"""JupyterLab and headless Chromium for the browser tests.

``lab_server`` starts ``jupyter lab`` on a free loopback port with a random
token. Its configuration, data, runtime, settings and workspace folders are
all under one temporary folder, so the tests never read or write the user's
own Jupyter state. The one kernel spec there, ``python3``, starts ipykernel
with the interpreter that runs pytest, which is the kernel the notebooks ask
for by name.

``NotebookPage`` drives one notebook in a Playwright page through
``window.jupyterapp``, which JupyterLab exposes when it is started with
``--LabApp.expose_app_in_browser=True``. The image helpers at the end turn
screenshots into NumPy arrays and compare them.

``STOP_SIGNALS`` turns SIGINT and SIGTERM into ``KeyboardInterrupt`` while
the browser tests run. The default action of SIGTERM, which CI runners and
``timeout`` send, ends Python without fixture teardown and so would leave the
server and its kernels running.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent

# Environment variable with the Chromium executable; the default is Debian's.
CHROMIUM_ENV = "GAN_LESSONS_CHROMIUM"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
# Environment variable with the folder of the screenshots.
ARTIFACTS_ENV = "GAN_LESSONS_BROWSER_ARTIFACTS"
DEFAULT_ARTIFACTS = ROOT / "test-artifacts" / "browser"

# Environment variable that makes a missing browser fail the tests instead
# of skipping them. The values in CI_OFF_VALUES, any case, count as unset.
CI_ENV = "CI"
CI_OFF_VALUES = ("", "0", "false", "no", "off")

INSTALL_HINT = (
    "Install Chromium with `apt-get install --no-install-recommends chromium` "
    "(or set GAN_LESSONS_CHROMIUM to a Chromium executable) and Playwright with "
    '`pip install -e ".[test]"`; `bash .ci/run` does both.'
)

# Seconds for the server to respond and for a page to show a connected kernel.
SERVER_START_TIMEOUT = 120
KERNEL_START_TIMEOUT = 180
# Seconds for a clean shutdown through the REST API before the process group
# is terminated.
SERVER_STOP_TIMEOUT = 30
# Seconds that a terminated process gets to exit before SIGKILL.
KILL_GRACE_TIMEOUT = 10

# JupyterLab settings written for the test server. Without windowing, every
# cell stays in the DOM, so the error check also reads cells outside the
# viewport.
# The news and update checks would request a website.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


# Finding the browser.


def chromium_path() -> str | None:
    """Returns the Chromium executable to drive, or None when there is none."""
    candidate = os.environ.get(CHROMIUM_ENV, DEFAULT_CHROMIUM)
    if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
        return candidate
    return shutil.which(candidate)


def missing_browser_reason() -> str | None:
    """Returns why the browser tests cannot run here, or None when they can."""
    missing = []
    if importlib.util.find_spec("playwright") is None:
        missing.append("the Python package playwright is not installed")
    if chromium_path() is None:
        chosen = os.environ.get(CHROMIUM_ENV, DEFAULT_CHROMIUM)
        missing.append(f"no Chromium executable at {chosen!r}")
    if not missing:
        return None
    return f"Browser tests need Chromium and Playwright: {'; '.join(missing)}. " + (
        INSTALL_HINT
    )


def ci_is_set() -> bool:
    """Returns whether the environment variable ``CI`` is set to an on value.

    Unset, empty, ``0``, ``false``, ``no`` and ``off`` (any case) are off.
    Every other value is on, such as the ``CI=true`` that CI services set.
    """
    return os.environ.get(CI_ENV, "").strip().lower() not in CI_OFF_VALUES


def require_browser() -> str:
    """Returns the Chromium path, or skips the test without the browser.

    The test skips when Chromium or Playwright is missing. With the
    environment variable ``CI`` set (see ``ci_is_set``), the test fails
    instead of skipping, so a CI machine without the browser cannot pass
    silently.
    """
    reason = missing_browser_reason()
    if reason is not None:
        if ci_is_set():
            ci_value = os.environ[CI_ENV]
            pytest.fail(
                f"CI is set to {ci_value!r}, so the browser tests must run. Set CI "
                f"to 0 or false to let them skip. {reason}"
            )
        pytest.skip(
            f"{reason} Set CI (to any value but 0, false, no or off) to fail "
            "instead of skipping."
        )
    return chromium_path()


def artifacts_dir() -> Path:
    """Creates and returns the folder that receives the screenshots."""
    folder = Path(os.environ.get(ARTIFACTS_ENV) or DEFAULT_ARTIFACTS)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def remove_artifacts(folder: Path, names: Iterable[str]) -> None:
    """Deletes the files ``names`` in ``folder`` that exist, and nothing else.

    A test calls this before it writes its artefacts, so a failed run cannot
    leave an older run's screenshot beside its own.
    """
    for name in names:
        if Path(name).name != name:
            raise ValueError(f"artefact name {name!r} is a path; expected a file name.")
        (folder / name).unlink(missing_ok=True)


# Stop signals.


class StopSignalGuard:
    """Turns SIGINT and SIGTERM into ``KeyboardInterrupt`` and records them.

    Python ends at once on SIGTERM by default, so no fixture teardown runs.
    With the guard installed, the first signal raises ``KeyboardInterrupt``
    and the teardown stops the server. Inside ``shielded()``, signals are
    only recorded, so a second signal cannot cut the server's shutdown short.
    A Ctrl-C in a terminal also ends the Playwright driver, which is in
    pytest's process group, so ``exit_if_stopped`` ends the session instead
    of running more browser tests.
    """

    def __init__(self) -> None:
        self.received: list[str] = []
        self._previous: dict[int, object] = {}
        self._shield_depth = 0

    def install(self) -> None:
        """Installs the handler for SIGINT and SIGTERM in the main thread.

        A signal that the process ignores, as SIGINT in a job started under
        ``nohup`` or in the background, stays ignored. Outside the main
        thread, where Python cannot set handlers, nothing changes.
        """
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            if sig in self._previous or signal.getsignal(sig) is signal.SIG_IGN:
                continue
            self._previous[sig] = signal.signal(sig, self._handle)

    def uninstall(self) -> None:
        """Restores the handlers that ``install`` replaced."""
        while self._previous:
            sig, handler = self._previous.popitem()
            signal.signal(sig, handler)

    @contextlib.contextmanager
    def shielded(self) -> Iterator[None]:
        """Records stop signals without raising for the duration of the block."""
        self._shield_depth += 1
        try:
            yield
        finally:
            self._shield_depth -= 1

    def exit_if_stopped(self) -> None:
        """Ends the pytest session if a stop signal was received."""
        if self.received:
            pytest.exit(
                f"Interrupted by {self.received[0]}: the browser tests stopped, "
                "and the remaining tests did not run."
            )

    def _handle(self, signum: int, frame) -> None:
        name = signal.Signals(signum).name
        self.received.append(name)
        if not self._shield_depth:
            raise KeyboardInterrupt(f"{name} received")


STOP_SIGNALS = StopSignalGuard()


# The JupyterLab server.


@dataclass
class LabServer:
    """A running ``jupyter lab`` process and how to reach it."""

    process: subprocess.Popen
    url: str
    token: str
    root_dir: Path

    def notebook_url(self, name: str) -> str:
        """Returns the address that opens notebook ``name`` in JupyterLab."""
        # ``reset`` starts from an empty workspace, so the page does not
        # reopen, with a new kernel, a notebook that an earlier page left open.
        return f"{self.url}/lab/tree/{name}?reset&token={self.token}"

    def request(self, path: str, method: str = "GET") -> bytes:
        """Sends an authenticated request to the server's REST API."""
        request = urllib.request.Request(
            f"{self.url}{path}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.read()


def free_loopback_port() -> int:
    """Returns a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_jupyter_home(home: Path) -> dict[str, Path]:
    """Writes the kernel spec and the lab settings under ``home``.

    Returns the folders by role: config, data, runtime, settings, workspaces.
    """
    folders = {
        role: home / role
        for role in ("config", "data", "runtime", "settings", "workspaces", "ipython")
    }
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)

    spec_dir = folders["data"] / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))

    for plugin, values in LAB_SETTINGS.items():
        package, name = plugin.rsplit("/", 1)
        settings_file = folders["settings"] / package / f"{name}.jupyterlab-settings"
        settings_file.parent.mkdir(parents=True, exist_ok=True)
        settings_file.write_text(json.dumps(values))
    return folders


@contextlib.contextmanager
def lab_server(
    root_dir: Path, home: Path, env: dict[str, str], log_path: Path
) -> Iterator[LabServer]:
    """Runs ``jupyter lab`` on 127.0.0.1 for the duration of the block.

    Args:
        root_dir: Folder that the server shows and the kernels start in.
        home: Empty folder for the server's configuration, data, runtime,
            settings and workspaces.
        env: Environment of the server, which its kernels inherit.
        log_path: File that receives the server's output.

    The server and its kernels stop when the block ends, also on an error;
    see ``_stop_server``. On Linux the server also gets SIGTERM when the
    pytest process dies, even by SIGKILL, and then shuts its kernels down.
    """
    folders = write_jupyter_home(home)
    env = dict(env)
    env.update(
        JUPYTER_CONFIG_DIR=str(folders["config"]),
        JUPYTER_DATA_DIR=str(folders["data"]),
        JUPYTER_RUNTIME_DIR=str(folders["runtime"]),
        JUPYTERLAB_SETTINGS_DIR=str(folders["settings"]),
        JUPYTERLAB_WORKSPACES_DIR=str(folders["workspaces"]),
        IPYTHONDIR=str(folders["ipython"]),
    )
    # Kernel specs and extensions of other environments stay out of the search.
    env.pop("JUPYTER_PATH", None)
    port = free_loopback_port()
    token = secrets.token_hex(24)
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
        "--LabApp.expose_app_in_browser=True",
        f"--LabApp.user_settings_dir={folders['settings']}",
        f"--LabApp.workspaces_dir={folders['workspaces']}",
        # The default manager would search PyPI when the extension panel opens.
        "--LabApp.extension_manager=readonly",
    ]
    if os.geteuid() == 0:
        # Containers and CI machines often run as root, which the server
        # rejects without this flag.
        command.append("--allow-root")
    command = with_parent_death_signal(command)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            cwd=root_dir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            # A session of its own, so a Ctrl-C in pytest's terminal does not
            # reach the server, and its group can be stopped without touching
            # other processes. Kernels start in sessions of their own.
            start_new_session=True,
        )
        server = LabServer(process, f"http://127.0.0.1:{port}", token, root_dir)
        try:
            _wait_until_serving(server, log_path)
            yield server
        finally:
            with STOP_SIGNALS.shielded():
                _stop_server(server)


# Runs argv[2:] with SIGTERM as its parent-death signal (Linux prctl
# PR_SET_PDEATHSIG = 1), which execv keeps. argv[1] is the expected parent
# PID, and checking it catches a parent that died before prctl ran.
_PARENT_DEATH_EXEC = """
import ctypes, os, signal, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(1, signal.SIGTERM, 0, 0, 0) != 0:
    sys.exit(f"prctl(PR_SET_PDEATHSIG) failed: {os.strerror(ctypes.get_errno())}")
if os.getppid() != int(sys.argv[1]):
    sys.exit("the parent process exited before the command started")
os.execv(sys.argv[2], sys.argv[2:])
"""


def with_parent_death_signal(command: list[str]) -> list[str]:
    """Returns ``command`` wrapped so that it gets SIGTERM when pytest dies.

    ``command[0]`` must be an absolute path. The wrapper execs the command,
    so the PID stays the same. The signal is sent when the thread that
    started the process exits, so start it from the main thread. Outside
    Linux the command is returned unchanged.
    """
    if not sys.platform.startswith("linux"):
        return list(command)
    return [sys.executable, "-c", _PARENT_DEATH_EXEC, str(os.getpid()), *command]


def _process_start_time(pid: int) -> int | None:
    """Returns the start time of process ``pid`` in clock ticks, or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name, field 2, may contain spaces and parentheses, so the
    # fields are counted from its closing parenthesis. Start time is field 22.
    return int(stat[stat.rindex(")") + 2 :].split()[19])


def descendant_processes(pid: int) -> dict[int, int]:
    """Returns the processes below ``pid`` in the process tree, from ``/proc``.

    Maps each PID to its start time, so a caller can tell a PID that was
    reused since. Jupyter starts each kernel in a session of its own, so
    the kernels are outside the server's process group but below it here.
    Returns an empty dict where ``/proc`` is missing.
    """
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found: dict[int, int] = {}
    pending = list(children.get(pid, []))
    while pending:
        child = pending.pop()
        start_time = _process_start_time(child)
        if start_time is None or child in found:
            continue
        found[child] = start_time
        pending.extend(children.get(child, []))
    return found


def kill_processes(processes: dict[int, int], timeout_s: float) -> list[int]:
    """Stops the processes of ``descendant_processes`` that still run.

    Sends SIGTERM, then SIGKILL to those still running after ``timeout_s``.
    A PID whose start time changed belongs to another process and is left
    alone. Returns the PIDs that received a signal.
    """

    def running() -> list[int]:
        return [
            pid
            for pid, start_time in processes.items()
            if _process_start_time(pid) == start_time and not _is_zombie(pid)
        ]

    signalled = running()
    for sig in (signal.SIGTERM, signal.SIGKILL):
        remaining = running()
        for pid in remaining:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + timeout_s
        while remaining and time.monotonic() < deadline:
            time.sleep(0.1)
            remaining = running()
        if not remaining:
            break
    return signalled


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rindex(")") + 2] == "Z"


def _wait_until_serving(server: LabServer, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"jupyter lab exited with code {server.process.returncode} before "
                f"it served {server.url}. See its log in {log_path}."
            )
        try:
            server.request("/api/status")
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"jupyter lab timed out: no response at {server.url} within "
                f"{SERVER_START_TIMEOUT} s. See its log in {log_path}."
            )
        time.sleep(0.5)


def _stop_server(server: LabServer) -> None:
    """Stops the server and every kernel it started.

    First each kernel through ``DELETE /api/kernels/<id>``, then the server
    through ``POST /api/shutdown``. Then SIGTERM, and SIGKILL after a grace
    period, go to the server's process group and to the processes found
    below the server in ``/proc`` before it exited. Jupyter starts each
    kernel in a session of its own, so only the second reaches kernels.
    """
    process = server.process
    kernels = descendant_processes(process.pid)
    if process.poll() is None:
        with contextlib.suppress(
            urllib.error.URLError, ConnectionError, TimeoutError, ValueError
        ):
            for kernel in json.loads(server.request("/api/kernels")):
                server.request(f"/api/kernels/{kernel['id']}", method="DELETE")
        with contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError):
            server.request("/api/shutdown", method="POST")
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(SERVER_STOP_TIMEOUT)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(KILL_GRACE_TIMEOUT)
    if process.poll() is None:
        process.wait()
    kill_processes(kernels, KILL_GRACE_TIMEOUT)


def exit_if_browser_lost(browser) -> None:
    """Ends the pytest session if Chromium or the Playwright driver has exited.

    A Ctrl-C in a terminal sends SIGINT to the whole process group, which
    ends the driver also where pytest ignores SIGINT, as in a background job.
    Every later browser test would then fail with ``TargetClosedError``.
    """
    from playwright.sync_api import Error as PlaywrightError

    reason = None
    if not browser.is_connected():
        reason = "Chromium is disconnected"
    else:
        # A round trip to the driver and the browser.
        try:
            browser.new_context().close()
        except PlaywrightError as error:
            reason = f"a new browser context failed: {error}"
    if reason is not None:
        pytest.exit(
            f"Interrupted: {reason}. Chromium or the Playwright driver has exited, "
            "as after a Ctrl-C, so the remaining tests did not run."
        )


# Driving a notebook in the page.


def is_external_url(url: str) -> bool:
    """Returns whether ``url`` is an HTTP(S) or WebSocket address off loopback."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https", "ws", "wss"):
        return False
    return parts.hostname not in ("127.0.0.1", "localhost", "::1")


# Returns the open notebook panel of the given path, or null.
_PANEL_JS = """
(path) => {
  const app = window.jupyterapp;
  if (!app) return null;
  for (const widget of app.shell.widgets('main')) {
    if (widget.context && widget.context.path === path && widget.content
        && widget.sessionContext) return widget;
  }
  return null;
}
"""


class NotebookPage:
    """One notebook open in JupyterLab in a Playwright page.

    Args:
        page: A Playwright page that shows nothing yet.
        server: The server to open the notebook from.
        name: The notebook's path under the server's root folder.
    """

    def __init__(self, page, server: LabServer, name: str):
        self.page = page
        self.server = server
        self.name = name
        self.console: list[str] = []
        # HTTP requests off loopback, such as the lessons' "Open in Colab"
        # badge, are aborted before any name lookup.
        self.blocked_urls: list[str] = []
        page.route(is_external_url, self._block)
        page.on("console", lambda message: self._log(message.type, message.text))
        page.on("pageerror", lambda error: self._log("pageerror", str(error)))

    def _block(self, route) -> None:
        self.blocked_urls.append(route.request.url)
        self._log("blocked", route.request.url)
        route.abort()

    def _log(self, kind: str, text: str) -> None:
        self.console.append(f"[{kind}] {text}")

    def _panel_call(self, body: str, arg=None, timeout_s: float | None = None):
        """Waits until ``body`` returns a truthy value and returns it.

        ``body`` is the body of a JavaScript function of ``panel``, the
        notebook's panel, and ``arg``. The wait is done in the page, which
        polls on each animation frame.
        """
        script = (
            f"([path, arg]) => {{ const panel = ({_PANEL_JS})(path);"
            f" if (!panel) return null; {body} }}"
        )
        handle = self.page.wait_for_function(
            script,
            arg=[self.name, arg],
            timeout=None if timeout_s is None else timeout_s * 1000,
        )
        return handle.json_value()

    def open(self) -> None:
        """Opens the notebook and waits until its kernel is connected and idle."""
        self.page.goto(self.server.notebook_url(self.name))
        self._panel_call(
            """
            const kernel = panel.sessionContext.session
              && panel.sessionContext.session.kernel;
            return panel.context.isReady && kernel
              && kernel.connectionStatus === 'connected'
              && kernel.status === 'idle';
            """,
            timeout_s=KERNEL_START_TIMEOUT,
        )

    def run_all(self, timeout_s: float) -> bool:
        """Runs every cell and waits until the run ends and the kernel is idle.

        Returns the value that ``notebook:run-all-cells`` resolved to, which
        is False when a cell raised an error and so stopped the run.
        """
        self.page.evaluate(
            f"""
            ([path]) => {{
              const panel = ({_PANEL_JS})(path);
              window.jupyterapp.shell.activateById(panel.id);
              window.__ganLessonsRunAll = null;
              window.jupyterapp.commands
                .execute('notebook:run-all-cells')
                .then((ok) => {{ window.__ganLessonsRunAll = {{ ok: ok }}; }},
                      (error) => {{ window.__ganLessonsRunAll =
                                     {{ ok: false, error: String(error) }}; }});
            }}
            """,
            [self.name],
        )
        result = self._panel_call(
            """
            const run = window.__ganLessonsRunAll;
            const kernel = panel.sessionContext.session.kernel;
            return run && kernel.status === 'idle' ? run : null;
            """,
            timeout_s=timeout_s,
        )
        if "error" in result:
            raise RuntimeError(
                f"notebook:run-all-cells failed on {self.name}: {result['error']}"
            )
        return bool(result["ok"])

    def wait_until_idle(self, timeout_s: float = 60) -> None:
        """Waits until the notebook's kernel is idle."""
        self._panel_call(
            "return panel.sessionContext.session.kernel.status === 'idle';",
            timeout_s=timeout_s,
        )

    def cell_problems(self) -> list[str]:
        """Returns a line per code cell that did not run or shows an error.

        Two sources are read: the notebook model (cells without an execution
        count, outputs of type ``error``) and the DOM of the output areas
        (tracebacks, widgets that failed to render).
        """
        return self.page.evaluate(
            f"""
            ([path]) => {{
              const panel = ({_PANEL_JS})(path);
              const problems = [];
              const cells = panel.content.model.cells;
              for (let i = 0; i < cells.length; i++) {{
                const cell = cells.get(i);
                if (cell.type !== 'code') continue;
                if (cell.executionCount === null) {{
                  problems.push(`cell ${{i}}: did not run`);
                }}
                for (const output of cell.outputs.toJSON()) {{
                  if (output.output_type === 'error') {{
                    problems.push(
                      `cell ${{i}}: ${{output.ename}}: ${{output.evalue}}`);
                  }}
                }}
              }}
              panel.content.widgets.forEach((cell, i) => {{
                const selectors = '.jp-OutputArea-output, .widget-error';
                for (const node of cell.node.querySelectorAll(selectors)) {{
                  const text = node.textContent || '';
                  if (text.includes('Traceback')
                      || text.includes('Error displaying widget')
                      || node.classList.contains('widget-error')) {{
                    problems.push(`cell ${{i}} DOM: ${{text.slice(0, 300)}}`);
                  }}
                }}
              }});
              return problems;
            }}
            """,
            [self.name],
        )

    def shutdown_kernel(self) -> None:
        """Shuts down the notebook's kernel and leaves the page open."""
        self.page.evaluate(
            f"""
            async ([path]) => {{
              const panel = ({_PANEL_JS})(path);
              if (panel) await panel.sessionContext.shutdown();
            }}
            """,
            [self.name],
        )

    def wait_for_new_image(self, image, old_source: str, timeout_s: float) -> str:
        """Waits for a new, loaded source of the image and an idle kernel.

        Returns the new source. An ``ipywidgets.Image`` gets a new blob URL
        for each new value.
        """
        self.page.wait_for_function(
            """
            ([image, old]) => image.src && image.src !== old && image.complete
              && image.naturalWidth > 0
            """,
            arg=[image.element_handle(), old_source],
            timeout=timeout_s * 1000,
        )
        self.wait_until_idle(timeout_s)
        return image.evaluate("(element) => element.src")


def drag_slider(page, slider, fraction: float) -> None:
    """Drags a slider's handle by ``fraction`` of its track with the mouse.

    ``slider`` is the locator of an ipywidgets 8 slider (``.widget-slider``),
    which draws its track and handle with noUiSlider.
    """
    slider.scroll_into_view_if_needed()
    track = slider.locator(".noUi-target").bounding_box()
    handle = slider.locator(".noUi-handle").bounding_box()
    start_x = handle["x"] + handle["width"] / 2
    start_y = handle["y"] + handle["height"] / 2
    page.mouse.move(start_x, start_y)
    page.mouse.down()
    page.mouse.move(start_x + fraction * track["width"], start_y, steps=10)
    page.mouse.up()


# Images.


def clipped_texts(box) -> list[str]:
    """Returns the text of each button or label in ``box`` that is cut short."""
    return box.evaluate(
        """
        (box) => Array.from(
            box.querySelectorAll('.widget-button, .widget-label, .widget-readout'))
          .filter((node) => node.scrollWidth > node.clientWidth)
          .map((node) => node.textContent)
        """
    )


def rendered_and_natural_width(image) -> tuple[int, int]:
    """Returns the CSS width of an image element and the width of its PNG."""
    widths = image.evaluate("(element) => [element.clientWidth, element.naturalWidth]")
    return tuple(widths)


def screenshot_array(locator, path: Path) -> np.ndarray:
    """Saves a screenshot of the element to ``path`` and returns its RGB pixels."""
    data = locator.screenshot(path=str(path))
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def changed_fraction(before: np.ndarray, after: np.ndarray) -> float:
    """Returns the fraction of pixels whose colour differs between two images."""
    if before.shape != after.shape:
        raise ValueError(
            f"screenshots have shapes {before.shape} and {after.shape}; expected "
            "the same element at the same size."
        )
    return float(np.any(before != after, axis=-1).mean())


def save_difference(before: np.ndarray, after: np.ndarray, path: Path) -> None:
    """Saves the absolute difference of two images, brightened, as PNG."""
    difference = np.abs(before.astype(np.int16) - after.astype(np.int16))
    brightened = np.clip(difference.max(axis=-1) * 4, 0, 255).astype(np.uint8)
    Image.fromarray(brightened).save(path)


def distinct_colours(pixels: np.ndarray) -> int:
    """Returns how many distinct RGB colours the image contains."""
    return len(np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0))
