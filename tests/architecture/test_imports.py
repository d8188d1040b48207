"""The data flow holds in the imports: pure modules import nothing that touches the network, and no two
modules import each other (directly or around a cycle). The rules are one small table; a test per rule."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "obsconf"

#: (importer prefix, forbidden prefixes, why)
RULES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("obsconf.checks", ("obsconf.readers", "obsconf.stack", "obsconf.workload.run", "obsconf.target", "obsconf.live",
                        "obsconf.cases", "requests"),
     "checks are pure: collected data in, findings out"),
    ("obsconf.cases", ("obsconf.readers", "obsconf.stack", "obsconf.target", "obsconf.live", "obsconf.workload.run"),
     "cases are pure: they ask a Probe for data and judge it with the checks"),
    ("obsconf.reference", ("obsconf.checks", "obsconf.contract", "obsconf.cases", "obsconf.live", "obsconf.stack",
                           "obsconf.target"),
     "the reference service stands alone; starting it is the launchers' job"),
    ("obsconf.readers", ("obsconf.checks", "obsconf.cases"), "readers turn backend answers into data; they judge nothing"),
    ("obsconf.stack", ("obsconf.checks", "obsconf.cases", "obsconf.live"), "the stack runs backends; it judges nothing"),
    ("obsconf.contract", ("obsconf.stack", "obsconf.target", "obsconf.live", "obsconf.readers"),
     "a contract is data; it starts and reads nothing"),
)

#: modules that touch the network (or start processes that do)
NETWORK = ("requests", "urllib.request", "http.client", "socket", "boto3", "botocore", "subprocess",
           "testcontainers", "locust")
#: pure modules: collected data in, findings or figures out. Nothing they import, at any depth, may touch the network.
PURE = ("obsconf.checks", "obsconf.faults.accounting", "obsconf.faults.observations", "obsconf.faults.verdict",
        "obsconf.overhead.stats", "obsconf.overhead.figures", "obsconf.overhead.delivery_result",
        "obsconf.overhead.delivery_report", "obsconf.contract.model", "obsconf.workload.tracecontext",
        "obsconf.workload.plan", "obsconf.typenames", "obsconf.sequence", "obsconf.model", "obsconf.cases")
#: pure modules that run a local tool on purpose (promtool unit tests the rules; it opens no socket)
PURE_EXCEPTIONS = {("obsconf.checks.promtool", "subprocess")}


def module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> Iterator[str]:
    """Every module ``path`` imports, at any depth of the file (lazy imports inside functions count too);
    ``if TYPE_CHECKING:`` blocks do not (they never run)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(n) for n in ast.walk(node)}
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                yield ".".join(base + ([node.module] if node.module else []))
            elif node.module:
                yield node.module


MODULES = {module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _matches(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize(("importer", "forbidden", "why"), RULES, ids=[r[0] for r in RULES])
def test_no_forbidden_edge(importer: str, forbidden: tuple[str, ...], why: str) -> None:
    bad = sorted(f"{mod} imports {imp}" for mod, path in MODULES.items() if _matches(mod, importer)
                 for imp in imports_of(path) if any(_matches(imp, f) for f in forbidden))
    assert not bad, f"{why}:\n" + "\n".join(bad)


def test_pure_modules_reach_no_network() -> None:
    graph = _graph()
    bad: list[str] = []
    for start in sorted(m for m in MODULES if any(_matches(m, p) for p in PURE)):
        seen, todo, via = {start}, [start], {start: [start]}
        while todo:
            mod = todo.pop()
            for imp in imports_of(MODULES[mod]):
                if any(_matches(imp, n) for n in NETWORK) and (mod, imp.split(".")[0]) not in PURE_EXCEPTIONS \
                        and (mod, imp) not in PURE_EXCEPTIONS:
                    bad.append(f"{start}: {' -> '.join(via[mod])} imports {imp}")
            for nxt in graph[mod] - seen:
                seen.add(nxt)
                via[nxt] = via[mod] + [nxt]
                todo.append(nxt)
    assert not bad, "pure modules must not reach the network:\n" + "\n".join(sorted(set(bad)))


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for mod, path in MODULES.items():
        targets = set()
        for imp in imports_of(path):
            # the deepest obsconf module the import names (``from obsconf.x import y`` may name module x.y)
            while imp and imp not in MODULES:
                imp = imp.rpartition(".")[0]
            if imp and imp != mod and imp.startswith("obsconf"):
                targets.add(imp)
        graph[mod] = targets
    return graph


def test_no_import_cycle() -> None:
    graph = _graph()
    # package __init__ modules re-export their children; an edge into a package from inside it is not a cycle
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt.startswith(node + ".") or node.startswith(nxt + "."):
                continue
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for mod in sorted(graph):
        if mod not in state:
            visit(mod, [])
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles[:10])


def test_no_module_is_over_450_lines() -> None:
    long = sorted(f"{mod}: {len(p.read_text().splitlines())} lines" for mod, p in MODULES.items()
                  if len(p.read_text().splitlines()) > 450)
    assert not long, "split these (one job each):\n" + "\n".join(long)
