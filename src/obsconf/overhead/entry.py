"""``python -m`` entry points of the overhead commands (``obsconf overhead`` and ``obsconf gate``), built from a
module's ``add_arguments(parser)`` and ``run(args)`` as the ``obsconf`` CLI uses them."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def standalone(prog: str, description: str | None, add_arguments: Callable[[argparse.ArgumentParser], None],
               run: Callable[[argparse.Namespace], int]) -> Callable[[list[str] | None], int]:
    """A ``main(argv)`` that parses ``argv`` with ``add_arguments`` (the module docstring as the help text)
    and returns ``run``'s exit code."""

    def main(argv: list[str] | None = None) -> int:
        parser = argparse.ArgumentParser(prog=prog, description=description,
                                         formatter_class=argparse.RawDescriptionHelpFormatter)
        add_arguments(parser)
        return run(parser.parse_args(argv))

    return main
