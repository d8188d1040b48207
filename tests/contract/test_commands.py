"""``obsconf contract schema | check | explain``: editor schema up to date, every malformed file caught without
starting anything, every case explained in words."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import yaml

from obsconf.cases.suite import build_cases
from obsconf.cli import main
from obsconf.contract import default_contract_paths, load_contract
from obsconf.contract.tools import SCHEMA_FILE, SCHEMA_LINE, schema_json
from tests.contract.test_loader import BASE, MALFORMED

CONTRACTS = Path(__file__).resolve().parents[2] / "fixtures" / "contracts"


def test_committed_schema_is_up_to_date() -> None:
    committed = (CONTRACTS / SCHEMA_FILE).read_text(encoding="utf-8")
    assert committed == schema_json(), (
        f"fixtures/contracts/{SCHEMA_FILE} is stale: run `obsconf contract schema -o fixtures/contracts/{SCHEMA_FILE}`")


def test_schema_command_writes_the_schema(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    assert main(["contract", "schema", "-o", str(tmp_path / "s.json")]) == 0
    assert (tmp_path / "s.json").read_text() == schema_json()
    assert main(["contract", "schema"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "obsconf contract"


def test_shipped_contracts_validate_against_the_committed_schema() -> None:
    """What an editor sees: the schema file alone accepts the shipped contracts and points at typos."""
    schema = json.loads((CONTRACTS / SCHEMA_FILE).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    for path in default_contract_paths():
        assert path.read_text().splitlines()[0] == SCHEMA_LINE
        assert not list(validator.iter_errors(yaml.safe_load(path.read_text()))), path
    typo = yaml.safe_load(BASE.replace("logs:\n", "log:\n"))
    assert list(validator.iter_errors(typo))


def test_check_accepts_the_shipped_contracts(capsys) -> None:  # noqa: ANN001
    assert main(["contract", "check", str(CONTRACTS)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == len(default_contract_paths()) and all(": ok (" in line for line in out)


def test_check_catches_every_malformed_file_of_the_loader_table_without_starting_anything(tmp_path: Path) -> None:
    """One subprocess checks every malformed file of tests/contract/test_loader.py at once: exit 2, one
    ``file:line: path: problem`` line per file, no traceback, and nothing that could start a process imported."""
    files = []
    for name, text in MALFORMED.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        files.append(path)
    good = tmp_path / "good.yaml"
    good.write_text(BASE, encoding="utf-8")
    # The check itself (obsconf.contract.tools) imports no launcher, reader or backend client (the workload's
    # step expansion comes with the http check, its HTTP client unused); the full CLI then runs and leaves no
    # child process and no extra thread behind.
    probe = (
        "import sys, threading\n"
        "from obsconf.contract.tools import check_files\n"
        "results = check_files(sys.argv[3:])\n"
        # the schema's profile enum comes from obsconf.reference.config (a table, no app, no process)
        "heavy = sorted(m for m in sys.modules if m.startswith(('obsconf.stack', 'obsconf.target', 'obsconf.live.probe',"
        " 'obsconf.live.seedruns', 'obsconf.live.alertdrives', 'obsconf.live.collect', 'obsconf.reference', 'obsconf.readers', 'obsconf.faults', 'testcontainers',"
        " 'locust')) and m not in ('obsconf.reference', 'obsconf.reference.config'))\n"
        "import psutil\n"
        "from obsconf.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "children = psutil.Process().children(recursive=True)\n"
        "print('IMPORTED', heavy, 'CHILDREN', children, 'THREADS', threading.active_count(), file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe, "contract", "check", str(good), *map(str, files)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "IMPORTED [] CHILDREN [] THREADS 1" in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if not line.startswith("IMPORTED")]
    assert len(errors) == len(files), proc.stderr
    for path, line in zip(files, errors, strict=True):
        assert line.startswith(str(path)), (path.name, line)
        # file[:line]: path: problem
        rest = line[len(str(path)):]
        assert rest.startswith((":", ": ")) and rest.count(": ") >= 2, line
    assert proc.stdout.strip() == f"{good}: ok ({len(build_cases(load_contract(good)))} cases)"


def test_check_line_names_file_line_path_and_problem(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    path = tmp_path / "shop.yaml"
    path.write_text(BASE.replace("path: /api/ok}", "path: api/ok}"), encoding="utf-8")
    assert main(["contract", "check", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"{path}:8: workload[0].request.path: 'api/ok' must be a path starting with '/'"
    assert main(["contract", "check", str(tmp_path / "missing.yaml")]) == 2
    assert "cannot read the contract" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["contract", "check", str(empty)]) == 2
    assert "no contract files" in capsys.readouterr().err


def test_explain_lists_every_case_with_its_description_and_the_opt_outs(capsys) -> None:  # noqa: ANN001
    path = CONTRACTS / "assistant.yaml"
    assert main(["contract", "explain", str(path)]) == 0
    out = capsys.readouterr().out
    cases = build_cases(load_contract(path))
    for case in cases:
        assert f"  {case.id}\n" in out
        assert case.describe and case.describe.split()[0] in out
    assert f"{len(cases)} cases" in out
    assert "span 'POST /api/chat' arrives in Jaeger, a root span" in out
    assert "assistant-metrics-semconv" in out and "assistant-spans-semconv" not in out
    tail = out[out.index("Not run"):]
    assert "spans.semconv" in tail and "http.status_code" in tail and "alerts" in tail


def test_every_shipped_case_has_a_specific_description() -> None:
    """No case falls back to the generic "section: item" text: explain and the reports say what each checks."""
    for path in default_contract_paths():
        for case in build_cases(load_contract(path)):
            assert case.describe != f"{case.section}: {case.item}", case.id
            assert len(case.describe) > 30, case.id


def test_explain_of_a_malformed_file_is_one_error_line(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    path = tmp_path / "bad.yaml"
    path.write_text(MALFORMED["unknown-section"], encoding="utf-8")
    assert main(["contract", "explain", str(path)]) == 2
    assert capsys.readouterr().err.strip().startswith(f"{path}:9: log: unknown section 'log'")
