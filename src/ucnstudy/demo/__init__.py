"""Synthetic study generator with planted ground truth (`ucn demo`).

See docs/demo.md. `generate_demo(study, DemoParams(...))` (re)creates a study; `iter_chunks`
yields the same rows chunk by chunk together with the planted truth (which DNS and HTTP rows
are background), for tests and for evaluating inference.
"""

from ucnstudy.demo.generate import Chunk, DemoResult, device_chunk, generate_demo, iter_chunks
from ucnstudy.demo.params import DemoParams
from ucnstudy.demo.services import ORIGINAL_BLOCKLIST, SERVICES, on_original_blocklist
from ucnstudy.demo.world import COMPONENTS

__all__ = [
    "COMPONENTS",
    "ORIGINAL_BLOCKLIST",
    "SERVICES",
    "Chunk",
    "DemoParams",
    "DemoResult",
    "device_chunk",
    "generate_demo",
    "iter_chunks",
    "on_original_blocklist",
]
