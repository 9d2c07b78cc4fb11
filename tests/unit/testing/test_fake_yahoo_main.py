"""``python -m resilient_provider.testing.fake_yahoo``: starts, prints a base URL that answers,
stops on Ctrl-C with exit 0; bad values exit 2 with argparse's message."""

from __future__ import annotations

import selectors
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from resilient_provider.testing.fake_yahoo import SlidingWindow
from resilient_provider.testing.fake_yahoo.__main__ import main, parse_args, server_from_args

COMMAND = [sys.executable, "-m", "resilient_provider.testing.fake_yahoo"]
CRUMB = "https://query1.finance.yahoo.com/v1/test/getcrumb"
START_TIMEOUT_S = 20


@contextmanager
def running(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """The command in a child process and the first line it printed; killed if still up."""
    child = subprocess.Popen([*COMMAND, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    try:
        assert child.stdout is not None
        with selectors.DefaultSelector() as ready:
            ready.register(child.stdout, selectors.EVENT_READ)
            if not ready.select(timeout=START_TIMEOUT_S):
                raise AssertionError(f"no base URL within {START_TIMEOUT_S} s")
        yield child, child.stdout.readline().strip()
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate(timeout=10)


def test_the_command_serves_at_the_url_it_prints_and_stops_on_ctrl_c() -> None:
    from resilient_provider.testing import YahooRoutingSession

    with running("--port", "0", "--limit", "1/1h", "--latency", "1ms") as (child, url):
        assert url.startswith("http://127.0.0.1:") and not url.endswith(":0")
        with YahooRoutingSession(url, timeout_s=5) as client:
            crumb, refused = client.get(CRUMB), client.get(CRUMB)
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=10)
    assert (crumb.status_code, len(crumb.text)) == (200, 11)
    assert (refused.status_code, refused.text) == (429, "Too Many Requests\r\n")
    assert child.returncode == 0 and "Traceback" not in stderr


def test_a_bad_value_exits_2_naming_the_option() -> None:
    done = subprocess.run([*COMMAND, "--limit", "fast"], capture_output=True, text=True,
                          timeout=START_TIMEOUT_S, check=False)
    assert done.returncode == 2 and done.stdout == ""
    assert "--limit" in done.stderr and "'fast'" in done.stderr
    assert "Traceback" not in done.stderr


# --- parsing, in process --------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["--limit", "fast"], ["--limit", "0/s"], ["--limit", "5/0s"], ["--limit", "5/fortnight"],
    ["--limit", "-5/s"], ["--latency", "soon"], ["--latency", "-1s"], ["--port", "70000"],
    ["--port", "http"], ["--seed", "x"], ["--retry-after", "-2"], ["--max-in-flight", "0"],
    ["--retry-after", "5"], ["--colour", "red"],
])
def test_bad_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        parse_args(argv)
    assert stopped.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_help_exits_0_and_shows_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        parse_args(["--help"])
    assert stopped.value.code == 0
    shown = capsys.readouterr().out
    assert all(option in shown for option in ("--port", "--latency", "--limit", "--seed",
                                              "--retry-after", "--max-in-flight", "base_url"))


@pytest.mark.parametrize(("text", "window"), [
    ("5/s", SlidingWindow(5, 1.0)), ("100/1m", SlidingWindow(100, 60.0)),
    ("10/2.5s", SlidingWindow(10, 2.5)), ("3 / 500ms", SlidingWindow(3, 0.5)),
])
def test_limits_read_as_sliding_windows(text: str, window: SlidingWindow) -> None:
    assert parse_args(["--limit", text]).limit == window


def test_the_defaults_are_todays_server() -> None:
    server = server_from_args(parse_args([]))
    assert (server.port, server.latency_s, server.seed, server.current_throttle) == \
        (0, 0.0, 0, None)


def test_the_options_build_the_server() -> None:
    server = server_from_args(parse_args([
        "--port", "8765", "--latency", "50ms", "--seed", "7", "--limit", "5/s",
        "--max-in-flight", "6", "--retry-after", "30"]))
    throttle = server.current_throttle
    assert (server.port, server.latency_s, server.seed) == (8765, 0.05, 7)
    assert throttle is not None and throttle.limit == SlidingWindow(5, 1.0)
    assert throttle.max_in_flight == 6
    assert dict(throttle.answer.headers) == {"Retry-After": "30"}


def test_a_taken_port_exits_1_saying_so(capsys: pytest.CaptureFixture[str]) -> None:
    from resilient_provider.testing import FakeYahooServer

    with FakeYahooServer() as taken:
        port = taken.base_url.rsplit(":", 1)[1]
        assert main(["--port", port]) == 1
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
