"""``webhook-templates send`` against the local server, and reading a deployed stack (moto)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from served import Served, transaction

from webhook_templates.cli import main
from webhook_templates.local import send


def test_repeat_3_exits_0_and_stores_one_transaction(served: Served, capsys: pytest.CaptureFixture[str]) -> None:
    before = served.stats()
    assert main(["send", "--endpoint", served.url, "--secret", served.secret, "--repeat", "3"]) == 0
    after = served.stats()
    assert after["transactions"] == before["transactions"] + 1
    assert after["deliveries"] == before["deliveries"] + 1
    out = capsys.readouterr().out
    assert out.count("HTTP 200 in ") == 3
    assert "attempt 3/3" in out
    assert "the delivery was stored once" in out


def test_payload_file_is_sent_as_is(served: Served, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = transaction(amount=7, currency="JPY")
    path = tmp_path / "payload.json"
    path.write_text(json.dumps(document))
    assert main(["send", "--endpoint", served.url, "--secret", served.secret, "--payload", str(path)]) == 0
    assert f'"transactionId":"{document["transactionId"]}"' in capsys.readouterr().out


def test_a_rejected_delivery_exits_1(served: Served, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"transactionId": "t", "amount": 1, "currency": "usd"}')
    assert main(["send", "--endpoint", served.url, "--secret", served.secret, "--payload", str(path)]) == 1
    assert "HTTP 400" in capsys.readouterr().out


def test_the_wrong_secret_exits_1(served: Served, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["send", "--endpoint", served.url, "--secret", "whsec_" + "A" * 32]) == 1
    assert "HTTP 401" in capsys.readouterr().out


def test_an_unreachable_endpoint_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert main(["send", "--endpoint", f"http://127.0.0.1:{port}/webhook", "--secret", "whsec_" + "A" * 32]) == 1
    assert "request failed" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    ["send"],
    ["send", "--endpoint", "http://127.0.0.1:1/webhook"],
    ["send", "--endpoint", "ftp://x/webhook", "--secret", "whsec_" + "A" * 32],
    ["send", "--endpoint", "http://127.0.0.1:1/webhook", "--secret", "whsec_%%%"],
    ["send", "--env", "dev", "--endpoint", "http://127.0.0.1:1/webhook"],
    ["send", "--env", "No_Such_Env"],  # any name of the pattern may have a stack
    ["send", "--endpoint", "http://127.0.0.1:1/webhook", "--secret", "whsec_" + "A" * 32, "--repeat", "0"],
    ["send", "--endpoint", "http://127.0.0.1:1/webhook", "--secret", "whsec_" + "A" * 32, "--payload", "/nonexistent"],
])
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "accepted" in capsys.readouterr().err


ENDPOINT_AND_SECRET = ["--endpoint", "http://127.0.0.1:1/webhook", "--secret", "whsec_" + "A" * 32]


@pytest.mark.parametrize(("flags", "message"), [
    (["--timeout", "-1"], "--timeout -1.0 is invalid; accepted: a number of seconds above 0"),
    (["--timeout", "0"], "--timeout 0.0 is invalid; accepted: a number of seconds above 0"),
    (["--timeout", "nan"], "--timeout nan is invalid; accepted: a number of seconds above 0"),
    (["--timeout", "inf"], "--timeout inf is invalid; accepted: a number of seconds above 0"),
])
def test_a_timeout_that_is_not_positive_is_a_usage_error(
    flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["send", *ENDPOINT_AND_SECRET, *flags])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("endpoint", [
    "http://[::1/webhook",  # urlsplit raises ValueError: Invalid IPv6 URL
    "http://127.0.0.1:99999/webhook",  # port out of range: ValueError on .port
    "http://127.0.0.1:x/webhook",  # a port that is not a number
    "http:///webhook",  # no host
    "https:webhook",
    "HTTP//127.0.0.1/webhook",
    "http://127.0.0.1/web hook",  # http.client refuses spaces and control characters
])
def test_a_malformed_endpoint_is_a_usage_error(endpoint: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["send", "--endpoint", endpoint, "--secret", "whsec_" + "A" * 32])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"--endpoint {endpoint!r} is invalid" in err and "accepted: an http:// or https:// URL with a host" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("endpoint", [
    "http://127.0.0.1:3000/webhook", "http://[::1]:3000/webhook", "HTTPS://abc.execute-api.us-east-1.amazonaws.com/dev/webhook",
    "http://localhost/webhook?x=1",
])
def test_well_formed_endpoints_are_accepted_as_given(endpoint: str) -> None:
    assert send.parse_endpoint(endpoint) == endpoint


SECRET_VALUE = json.dumps({"current": "A" * 48})


def _secret_arn() -> str:
    return boto3.client("secretsmanager").create_secret(Name="webhook-signing-secret-dev",
                                                        SecretString=SECRET_VALUE)["ARN"]


def test_env_reads_this_environments_flat_outputs_and_the_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with mock_aws():
        arn = _secret_arn()
        endpoint = "https://abc123.execute-api.us-east-1.amazonaws.com/dev/webhook"
        (tmp_path / "cfn-outputs").mkdir()
        (tmp_path / "cfn-outputs" / "flat-outputs.json").write_text(
            json.dumps({"ApiEndpoint": endpoint, "SigningSecretArn": arn, "TableName": "transactions-dev"}))
        assert send.deployed_target("dev", boto3.Session()) == send.Target(endpoint, "whsec_" + "A" * 48)


def test_env_falls_back_to_the_stack_when_the_flat_outputs_are_another_environments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cfn-outputs").mkdir()
    (tmp_path / "cfn-outputs" / "flat-outputs.json").write_text(
        json.dumps({"ApiEndpoint": "https://x.execute-api.us-east-1.amazonaws.com/staging/webhook"}))
    with mock_aws():
        arn = _secret_arn()
        endpoint = "https://dev123.execute-api.us-east-1.amazonaws.com/dev/webhook"
        template = {
            "Resources": {"Handle": {"Type": "AWS::SQS::Queue"}},
            "Outputs": {"ApiEndpoint": {"Value": endpoint}, "SigningSecretArn": {"Value": arn}},
        }
        boto3.client("cloudformation").create_stack(StackName="webhook-dev", TemplateBody=json.dumps(template))
        assert send.deployed_target("dev", boto3.Session()) == send.Target(endpoint, "whsec_" + "A" * 48)


def test_env_without_a_stack_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    with mock_aws():
        assert main(["send", "--env", "dev"]) == 1
    assert "there is no stack webhook-dev; deploy it first" in capsys.readouterr().err


def test_env_whose_secret_cannot_be_read_exits_1_with_the_aws_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cfn-outputs").mkdir()
    (tmp_path / "cfn-outputs" / "flat-outputs.json").write_text(json.dumps({
        "ApiEndpoint": "https://abc.execute-api.us-east-1.amazonaws.com/dev/webhook",
        "SigningSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:gone-AbCdEf",
    }))
    with mock_aws():
        assert main(["send", "--env", "dev"]) == 1
    assert "AWS error ResourceNotFoundException" in capsys.readouterr().err


def test_env_with_a_malformed_region_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["send", "--env", "dev", "--region", "mars"])
    assert exit_info.value.code == 2


def test_a_peer_that_does_not_speak_http_is_a_failed_request_not_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import threading

    from webhook_templates.cli import main

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        def answer_garbage() -> None:
            connection, _ = listener.accept()
            with connection:
                connection.recv(65536)
                connection.sendall(b"\x00\x01 not http\r\n\r\n")

        thread = threading.Thread(target=answer_garbage, daemon=True)
        thread.start()
        code = main(["send", "--endpoint", f"http://127.0.0.1:{port}/webhook", "--secret",
                     "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "--timeout", "5"])
        thread.join(timeout=5)
    assert code == 1
    err = capsys.readouterr().err
    assert "request failed" in err and "Traceback" not in err
