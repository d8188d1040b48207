"""Stack traces leave the machine's layout out: file paths relative to their sys.path entry."""

from __future__ import annotations

import json
import sys

from obsconf.reference.tracebacks import format_exception, relative_paths


def test_a_traceback_names_modules_not_absolute_paths() -> None:
    try:
        json.loads("{")
    except ValueError as error:
        text = format_exception(error)
    assert 'File "json/decoder.py"' in text and "JSONDecodeError" in text
    assert 'File "/' not in text.replace('File "<string>"', "")


def test_a_path_outside_sys_path_is_left_as_it_is_and_the_deepest_root_wins(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(sys, "path", ["/opt/app", "/opt/app/lib/site-packages"])
    trace = ('  File "/opt/app/lib/site-packages/pkg/mod.py", line 1, in f\n'
             '  File "/opt/app/main.py", line 2, in g\n  File "/elsewhere/x.py", line 3, in h\n')
    assert relative_paths(trace) == ('  File "pkg/mod.py", line 1, in f\n  File "main.py", line 2, in g\n'
                                     '  File "/elsewhere/x.py", line 3, in h\n')
