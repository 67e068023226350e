"""A council's wall time with speculation against without, on a scripted server.

Run: ``.venv/bin/python bench/bench_council.py`` (``--persona 0.5 --arbiter 0.5 --rounds 3
--repeat 3``).

The scripted Ollama server (``tests/fakes/ollama_api.py``, in this process) answers every
persona after ``--persona`` seconds and the arbiter after ``--arbiter`` seconds: fixed
latencies, so the difference is the schedule alone. Three personas in a pool that takes them
at once; the arbiter says ``VERDICT: continue`` until round ``--rounds``, then converged. Both
councils run side by side in each repeat, through the real coordinator and store:

- without speculation a round is personas, then arbiter: about rounds x (persona + arbiter);
- with it the next round's personas run beside the arbiter, and the one started beside the
  converging arbiter is cancelled: about persona + rounds x max(persona, arbiter).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import anyio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hookswarm.lib.swarm.batch import StoreRunner  # noqa: E402
from hookswarm.lib.swarm.config import SwarmConfig  # noqa: E402
from hookswarm.lib.swarm.council import CouncilRun, load_council  # noqa: E402
from hookswarm.lib.swarm.store import Store  # noqa: E402
from tests.fakes.ollama_api import OllamaAPI, models  # noqa: E402


def _script(args: argparse.Namespace, stop: threading.Event) -> Any:
    def reply(body: dict[str, Any]) -> str:
        text = body["messages"][-1]["content"]
        round_no = int(re.search(r"Round (\d+)", text).group(1))  # type: ignore[union-attr]
        if body["model"] == "big":
            stop.wait(args.arbiter)
            return f"synthesis\nVERDICT: {'converged' if round_no >= args.rounds else 'continue'}"
        stop.wait(args.persona)
        return f"idea {round_no}"

    return reply


def _council_file(folder: Path, url: str, speculate: bool) -> Path:
    personas = "".join(f'[[personas]]\nid = "p{i}"\nprompt = "persona {i}"\n' for i in (1, 2, 3))
    path = folder / "council.toml"
    path.write_text(f'question = "q"\nmax_rounds = 10\nspeculate = {str(speculate).lower()}\n'
                    '[defaults]\nbackend = "ollama"\nmodel = "tiny"\npool = "local"\n'
                    + personas + '[arbiter]\nmodel = "big"\nprompt = "chair"\n')
    return path


def _once(url: str, speculate: bool) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = SwarmConfig.model_validate({"pools": {"local": {
            "backend": "ollama", "endpoints": [{"url": url, "concurrency": 8}]}}})
        council = load_council(_council_file(folder, url, speculate), base=tmp)
        store = Store.for_project(folder)
        start = time.perf_counter()
        report = anyio.run(CouncilRun(council, StoreRunner(store, config), store.root).run)
        seconds = time.perf_counter() - start
        assert report["decision"].startswith("converged"), report
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--persona", type=float, default=0.5)
    parser.add_argument("--arbiter", type=float, default=0.5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    stop = threading.Event()
    plain, spec = [], []
    with OllamaAPI(models("tiny", "big"), reply=_script(args, stop), num_parallel=8) as api:
        try:
            for _ in range(args.repeat):
                plain.append(_once(api.url, False))
                spec.append(_once(api.url, True))
        finally:
            stop.set()
    p, s = statistics.median(plain), statistics.median(spec)
    print(f"council of 3 personas, {args.rounds} rounds, persona {args.persona:g} s, arbiter "
          f"{args.arbiter:g} s, median of {args.repeat}:")
    print(f"  without speculation  {p:.2f} s")
    print(f"  with speculation     {s:.2f} s  ({100 * (p - s) / p:.0f} % less wall time)")


if __name__ == "__main__":
    main()
