"""`obsconf contract draft` options: the request they make, and a clear error for each bad one (nothing starts)."""

from __future__ import annotations

from pathlib import Path

import pytest

from obsconf.cli import build_parser, main
from obsconf.contract.loader import load_steps
from obsconf.contract.model import RequestStep
from obsconf.draft.command import request_from_args
from obsconf.errors import ContractError, UsageError


def _request(*argv: str):  # noqa: ANN202
    return request_from_args(build_parser().parse_args(["contract", "draft", *argv]))


def test_get_and_post_keep_their_order_and_bodies(tmp_path: Path) -> None:
    req = _request("--target-cmd", "python app.py --port {port}", "--cwd", str(tmp_path), "--get", "/a",
                   "--post", '/b:{"x": [1, "y"]}', "--get", "/c?q=1", "--repeat", "2", "--secret", "tok_1",
                   "--health", "/healthz", "--env", "A=1", "--dependency", "store=S3_ENDPOINT_URL:s3")
    assert [(s.method, s.path, s.json, s.repeat) for s in req.steps] == [
        ("GET", "/a", None, 2), ("POST", "/b", {"x": [1, "y"]}, 2), ("GET", "/c?q=1", None, 2)]
    assert req.command == ("python", "app.py", "--port", "{port}") and req.cwd == tmp_path
    assert req.name == tmp_path.name.lower() and req.secrets == ("tok_1",) and req.env == {"A": "1"}
    assert [(d.name, d.env, d.upstream) for d in req.dependencies] == [("store", "S3_ENDPOINT_URL", "s3")]
    assert req.launch_contract().service.dependencies == req.dependencies


def test_a_steps_file_is_a_list_or_a_contract(tmp_path: Path) -> None:
    steps = tmp_path / "steps.yaml"
    steps.write_text("- request: {method: GET, path: /a, repeat: 2}\n- name: b\n  request: {method: POST, path: /b}\n")
    contract = tmp_path / "c.yaml"
    contract.write_text("version: 1\nservice: {name: s}\nworkload:\n  - request: {method: GET, path: /x}\n")
    assert [s.path for s in load_steps(steps)] == ["/a", "/b"]
    assert [s.path for s in load_steps(contract)] == ["/x"]
    req = _request("--target-cmd", "svc {port}", "--steps", str(steps), "--post", "/z", "--name", "n")
    assert [s.path for s in req.steps] == ["/a", "/b", "/z"] and isinstance(req.steps[2], RequestStep)
    assert req.steps_origin == f"steps file {steps} and --get/--post"


@pytest.mark.parametrize(("text", "where", "words"), [
    ("- request: {method: GET, path: a}\n", ":1", "must be a path starting with '/'"),
    ("- {name: x}\n- request: {method: FETCH, path: /a}\n", ":2", "use one of: GET"),
    ("workload: 3\n", ":1", "a steps file is a list"),
    ("[]\n", "", "no step"),
])
def test_a_bad_steps_file_names_file_line_and_problem(tmp_path: Path, text: str, where: str, words: str) -> None:
    steps = tmp_path / "steps.yaml"
    steps.write_text(text)
    with pytest.raises(ContractError) as err:
        load_steps(steps)
    assert str(steps) + where in str(err.value) and words in str(err.value)


@pytest.mark.parametrize(("argv", "words"), [
    (["--target-cmd", "svc {port}"], "give a workload"),
    (["--target-cmd", "svc --port 80", "--get", "/a"], "put {port} where"),
    (["--target-cmd", "svc {port}", "--get", "a"], "--get 'a': give a path starting with '/'"),
    (["--target-cmd", "svc {port}", "--post", "/a:{bad"], "is not JSON"),
    (["--target-cmd", "svc {port}", "--get", "/a", "--env", "1A=x"], "--env '1A=x'"),
    (["--target-cmd", "svc {port}", "--get", "/a", "--dependency", "store=X:ftp"], "NAME=ENV:UPSTREAM"),
    (["--target-cmd", "svc {port}", "--get", "/a", "--repeat", "0"], "--repeat 0"),
    (["--target", "http://127.0.0.1:9", "--get", "/a"], "give --name"),
    (["--target-cmd", "svc {port} {host}", "--get", "/a"], "unknown placeholder {host}"),
])
def test_bad_options_say_what_to_fix(argv: list[str], words: str) -> None:
    with pytest.raises(UsageError) as err:
        _request(*argv)
    assert words in str(err.value)


def test_the_command_line_exits_2_with_the_message_and_starts_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contract", "draft", "--target-cmd", "svc {port}"]) == 2
    assert "give a workload" in capsys.readouterr().err


def test_a_target_url_needs_a_stack_the_service_already_sends_to(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("OBSCONF_CACHE", str(tmp_path))  # no `obsconf stack up` state here
    code = main(["contract", "draft", "--target", "http://127.0.0.1:9", "--name", "s", "--get", "/a",
                 "--stack", "process"])
    assert code == 2
    assert "obsconf stack up" in capsys.readouterr().err
