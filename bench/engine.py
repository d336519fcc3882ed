"""Engine micro-benchmark: steps per second, and load+validate time for a generated 500-node flow set.

Run: python -m bench.engine [--nodes 500] [--steps 200000]
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path

import bot.flows as flowspec
from bot.engine import Command, Inbound, Pick, Text, start_state, step

REPO = Path(__file__).resolve().parent.parent


def generate(directory: Path, nodes: int, per_flow: int = 25) -> None:
    """Write a flow set of `nodes` nodes: menus linking to leaves, with triggers and services."""
    for name in ("settings.yaml", "messages.yaml", "services.yaml"):
        shutil.copy(REPO / "flows" / name, directory / name)
    flows = max(1, nodes // per_flow)
    main_choices = "\n".join(f'      - {{label: "Topic {f}", goto: f{f}.n0}}' for f in range(min(flows, 8)))
    (directory / "main.yaml").write_text(
        "flow: main\nstart: welcome\nnodes:\n"
        f"  welcome:\n    say: Welcome.\n    choices:\n{main_choices}\n"
        f"  menu:\n    say: Menu.\n    choices:\n{main_choices}\n"
    )
    rng = random.Random(1)
    for f in range(flows):
        lines = [f"flow: f{f}", "start: n0", "nodes:"]
        for n in range(per_flow):
            targets = rng.sample(range(per_flow), 4)
            choices = "\n".join(f'      - {{label: "Option {t} of {f}", goto: n{t}}}' for t in targets)
            lines.append(
                f'  n{n}:\n    say: "Node {n} of flow {f}: some advice text of a realistic length for one message."\n'
                f"    services: [nhs_111]\n    choices:\n{choices}\n"
                f'      - {{label: "Next topic", goto: f{(f + 1) % flows}.n0}}\n'
                "      - {label: Back, goto: main.menu}"
            )
        (directory / f"f{f}.yaml").write_text("\n".join(lines) + "\n")
    words = "\n".join(f"      - word{i}" for i in range(40))
    (directory / "triggers.yaml").write_text(
        "triggers:\n"
        f"  - id: crisis\n    priority: 100\n    goto: f0.n1\n    keywords:\n      en:\n{words}\n"
        "  - id: human\n    priority: 50\n    do: handoff\n    keywords:\n      en: [person, human, staff]\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--steps", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        generate(directory, args.nodes)
        loads = []
        for _ in range(5):
            started = time.perf_counter()
            flows = flowspec.load(directory)
            loads.append(time.perf_counter() - started)
    now = datetime(2026, 11, 25, 12)
    rng = random.Random(2)
    inputs: list[Inbound] = []
    node_ids = sorted(flows.nodes)
    for i in range(1000):
        kind = i % 4
        if kind == 0:
            inputs.append(Text(f"option {rng.randrange(25)} of {rng.randrange(20)}"))
        elif kind == 1:
            inputs.append(Text(rng.choice(["I need a person", "word17 happened", "random words here", "2"])))
        elif kind == 2:
            inputs.append(Command(rng.choice(["back", "menu", "help"])))
        else:
            inputs.append(Pick(rng.choice(node_ids), f"c:{rng.randrange(5)}"))
    state = start_state(flows, "en")
    started = time.perf_counter()
    for i in range(args.steps):
        state = step(flows, state, inputs[i % len(inputs)], now).state
    elapsed = time.perf_counter() - started
    print(f"flow set: {len(flows.nodes)} nodes in {len(flows.flows)} flows, {len(flows.triggers)} triggers")
    print(f"load+validate: best {min(loads) * 1000:.1f} ms, median {sorted(loads)[2] * 1000:.1f} ms (target < 300 ms)")
    print(
        f"engine: {args.steps / elapsed:,.0f} steps/s on one core ({elapsed / args.steps * 1e6:.1f} µs/step; "
        "target ≥ 50,000)"
    )


if __name__ == "__main__":
    main()
