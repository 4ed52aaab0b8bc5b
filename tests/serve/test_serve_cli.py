"""``serve`` refuses bad flags and a taken port with a clear message, not a traceback."""

from __future__ import annotations

import socket

import pytest

from webhook_templates.cli import main


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
