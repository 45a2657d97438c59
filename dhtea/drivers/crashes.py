"""Where a crashed handler was: the frames of its traceback, named the same way
in every process.

A frame's file is given as its module's import path (`dhtea/protocols/classic.py`,
`walk.py`), not as an absolute path, so the trace of a crash is the same bytes on
any machine that imports the protocol under the same name.
"""

from __future__ import annotations

import sys
import traceback
from types import TracebackType

from invariants import Frame

#: Frames kept, innermost last: enough to see the handler and what it called.
MAX_FRAMES = 8
_DISPATCH = "dhtea/core/node.py"  # RingNode's own dispatch to on_<kind>: not the protocol's code
_names: dict[str, str] = {}


def handler_frames(tb: TracebackType | None) -> tuple[Frame, ...]:
    """The frames of `tb` (a handler's traceback, starting below the driver's
    own frame), dhtea's dispatch frames left out."""
    frames = []
    for summary in traceback.extract_tb(tb):
        name = module_path(summary.filename)
        if name == _DISPATCH:
            continue
        frames.append(Frame(name, summary.lineno or 0, summary.name, (summary.line or "").strip()))
    return tuple(frames[-MAX_FRAMES:])


def module_path(filename: str) -> str:
    """`filename` as the path of the module it holds, relative to where it was
    imported from (`pkg/mod.py`); its base name if no loaded module has it."""
    if filename not in _names:
        _names[filename] = _lookup(filename)
    return _names[filename]


def _lookup(filename: str) -> str:
    for name, module in list(sys.modules.items()):
        if getattr(module, "__file__", None) == filename and name != "__main__":
            return name.replace(".", "/") + ("/__init__.py" if filename.endswith("__init__.py") else ".py")
    return filename.replace("\\", "/").rsplit("/", 1)[-1]
