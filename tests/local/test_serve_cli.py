"""``serve`` refuses bad flags and a taken port with a clear message, not a traceback."""

from __future__ import annotations

import signal
import socket

import pytest

from webhook_templates.cli import main
from webhook_templates.local import serve


def test_port_out_of_range_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--port", "99999"])
    assert exit_info.value.code == 2
    assert "--port 99999 is invalid; accepted: 1 to 65535" in capsys.readouterr().err


def test_taken_port_fails_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("secret", ["bogus", "whsec_%%%", "whsec_c2hvcnQ="])
def test_malformed_secret_is_a_usage_error(secret: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--secret", secret, "--quiet"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--secret is invalid (" in err and "accepted: whsec_<base64>" in err
    assert "Traceback" not in err


def test_a_missing_handler_is_named_not_reported_as_a_port_problem(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WEBHOOK_HANDLER_PATH", "/nonexistent/app.py")
    assert main(["serve", "--port", "0", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "/nonexistent/app.py" in err and "WEBHOOK_HANDLER_PATH" in err
    assert "cannot listen" not in err
    assert "Traceback" not in err


def test_the_port_is_bound_before_the_handler_is_started(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def start_containers(*_: object) -> None:
        raise AssertionError("the handler containers were started before the port was bound")

    monkeypatch.setattr(serve, "start_containers", start_containers)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port), "--quiet"]) == 1
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_the_previous_sigterm_handler_is_restored_when_serve_returns(monkeypatch: pytest.MonkeyPatch) -> None:
    def previous(signum: int, frame: object) -> None:
        """A handler the test process had before ``serve`` ran."""

    monkeypatch.setenv("WEBHOOK_HANDLER_PATH", "/nonexistent/app.py")  # serve returns once its handler fails
    original = signal.signal(signal.SIGTERM, previous)
    try:
        assert main(["serve", "--port", "0", "--quiet"]) == 1
        assert signal.getsignal(signal.SIGTERM) is previous
    finally:
        signal.signal(signal.SIGTERM, original)
