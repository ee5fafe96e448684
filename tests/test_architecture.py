"""The house's shape, read from the code's own imports: data flows one way.

Every module of ``hub``, ``firmware_sim`` and ``device`` belongs to a room (``hub/relay``,
``hub/clock``, ``firmware_sim/air``, …) and every room to a layer. A room may import its own
layer and the layers below; an import up into a higher layer is allowed only where UPWARD names
it with the reason, and there are no import circles at all, between rooms or modules.
ARCHITECTURE.md draws the same layers.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[1]
PACKAGES: Final = ("hub", "firmware_sim", "device")

# Bottom to top. The simulated world sits below the hub's radio (the hub's transport is a bleak
# backend over it); the scenario runner sits above the hub (it runs the hub's own parts).
LAYERS: Final[tuple[tuple[str, frozenset[str]], ...]] = (
    (
        "the simulated world and the firmware",
        frozenset(
            {
                "device",
                "firmware_sim",
                "firmware_sim/air",
                "firmware_sim/shims",
                "firmware_sim/bleak_backend",
                "firmware_sim/bluez",
                "firmware_sim/energy",
                "firmware_sim/unix_port",
            }
        ),
    ),
    (
        "values",
        frozenset(
            {
                "hub",
                "hub/clock",
                "hub/errors",
                "hub/log",
                "hub/events",
                "hub/heartbeats",
                "hub/histogram",
                "hub/tasks",
            }
        ),
    ),
    (
        "records, schema and storage",
        frozenset({"hub/bus", "hub/health", "hub/config", "hub/store", "hub/broker"}),
    ),
    (
        "domains",
        frozenset(
            {
                "hub/ble",
                "hub/relay",
                "hub/presence",
                "hub/delivery",
                "hub/signals",
                "hub/couple",
                "hub/privacy",
                "hub/stats",
            }
        ),
    ),
    ("composition", frozenset({"hub/app"})),
    ("faces of a running hub", frozenset({"hub/web", "hub/systemd", "hub/homeassistant", "hub/doctor"})),
    ("programs", frozenset({"hub/server", "hub/demo", "hub/sim_radio", "firmware_sim/scenario"})),
    ("the command line", frozenset({"hub/cli"})),
)
# (importing module, imported module) -> why it must run upward. At most three, ever.
UPWARD: Final[dict[tuple[str, str], str]] = {}
MAX_UPWARD: Final = 3
# Only the hub's narrow interface, never how it is built, for what serves or watches a hub.
FACES: Final = ("hub/web", "hub/systemd", "hub/homeassistant", "hub/cli")
INTERFACE: Final = "hub.app.interface"


@dataclass(frozen=True, slots=True)
class Import:
    module: str  # the importing module, dotted
    target: str  # the imported module, dotted
    line: int


def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imports(known: dict[str, Path]) -> Iterator[Import]:
    """Every import of one of our modules, also lazy and TYPE_CHECKING ones (they are dependencies
    too). ``from package import submodule`` depends on the submodule."""
    for name, path in known.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                submodules = [f"{node.module}.{alias.name}" for alias in node.names]
                targets = [t for t in submodules if t in known] or [node.module]
            else:
                continue
            for target in targets:
                if target in known and target != name:
                    yield Import(name, target, node.lineno)


def room(module: str) -> str:
    parts = module.split(".")
    if len(parts) > 1 and (ROOT / parts[0] / parts[1]).is_dir():
        return f"{parts[0]}/{parts[1]}"
    if parts[0] == "hub" and len(parts) > 1:
        return f"hub/{parts[1]}"
    return parts[0]


def layer_of(name: str) -> int:
    for index, (_, rooms) in enumerate(LAYERS):
        if name in rooms:
            return index
    raise AssertionError(f"room {name} is in no layer: add it to LAYERS (and to ARCHITECTURE.md)")


def circle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a path (first node repeated at the end), or None (depth-first)."""
    done: set[str] = set()
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        path.append(node)
        for child in sorted(graph.get(node, ())):
            found = visit(child)
            if found is not None:
                return found
        path.pop()
        done.add(node)
        return None

    for start in sorted(graph):
        found = visit(start)
        if found is not None:
            return found
    return None


KNOWN: Final = modules()
IMPORTS: Final = tuple(imports(KNOWN))


def test_no_import_circles_between_modules() -> None:
    graph: dict[str, set[str]] = {name: set() for name in KNOWN}
    for edge in IMPORTS:
        graph[edge.module].add(edge.target)
    assert circle(graph) is None


def test_no_import_circles_between_rooms() -> None:
    graph: dict[str, set[str]] = {room(name): set() for name in KNOWN}
    for edge in IMPORTS:
        if room(edge.module) != room(edge.target):
            graph[room(edge.module)].add(room(edge.target))
    assert circle(graph) is None


def test_every_room_has_a_layer() -> None:
    rooms = {room(name) for name in KNOWN}
    for name in rooms:
        layer_of(name)
    declared = set().union(*(rooms for _, rooms in LAYERS))
    assert declared <= rooms, f"LAYERS names rooms that no longer exist: {sorted(declared - rooms)}"


def upward_imports(edges: Iterable[Import]) -> set[tuple[str, str]]:
    """(module, target) for each import up into a higher layer."""
    return {(e.module, e.target) for e in edges if layer_of(room(e.target)) > layer_of(room(e.module))}


def test_imports_run_down_the_layers() -> None:
    upward = upward_imports(IMPORTS)
    unexplained = sorted(upward - UPWARD.keys())
    assert not unexplained, "imports up into a higher layer:\n" + "\n".join(
        f"{a} -> {b}" for a, b in unexplained
    )
    assert len(UPWARD) <= MAX_UPWARD
    assert set(UPWARD) <= upward, "UPWARD lists imports that are gone: remove them"


def test_what_serves_a_hub_sees_only_its_interface() -> None:
    reaching_in = sorted(
        f"{edge.module}:{edge.line} imports {edge.target}"
        for edge in IMPORTS
        if room(edge.module) in FACES and room(edge.target) == "hub/app" and edge.target != INTERFACE
    )
    assert not reaching_in, "use hub.app.interface.HubInterface instead:\n" + "\n".join(reaching_in)


def test_the_checks_see_a_circle_and_an_upward_import() -> None:
    """The graph code itself: a circle is found, and a made-up upward import is one."""
    assert circle({"d": {"a"}, "a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert circle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None
    assert upward_imports([Import("hub.clock", "hub.app.builder", 1)]) == {("hub.clock", "hub.app.builder")}
    assert (
        upward_imports([Import("hub.app.builder", "hub.clock", 1), Import("hub.web.api", "hub.web.auth", 1)])
        == set()
    )
    assert room("firmware_sim.button") == "firmware_sim"
    assert room("firmware_sim.air.server") == "firmware_sim/air"
    assert room("hub.events") == "hub/events"


def test_architecture_md_draws_the_same_layers() -> None:
    """Each room stands in the layer row of ARCHITECTURE.md that LAYERS gives it (a row may name a
    whole package, ``firmware_sim/``, for the rooms inside it that no other row names)."""
    rows: dict[int, set[str]] = {}
    for line in (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8").splitlines():
        cells = line.split("|")
        if len(cells) > 2 and cells[1].strip()[:1].isdigit():
            number = int(cells[1].split()[0])
            names = {name.removesuffix("/").removesuffix(".py") for name in cells[2].split("`")[1::2]}
            rows[number] = {f"hub/{n}" if "/" not in n and n not in PACKAGES else n for n in names}
    assert sorted(rows) == list(range(len(LAYERS)))
    named = {name: number for number, names in rows.items() for name in names}
    for number, (title, rooms) in enumerate(LAYERS):
        for name in rooms - {"hub"}:  # the package's face (its version) needs no row
            where = named.get(name, named.get(name.split("/")[0]))
            assert where == number, f"ARCHITECTURE.md puts {name} in layer {where}, not {number} ({title})"
