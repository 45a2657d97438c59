"""How the command line reports a failure: one line on stderr, of readable length."""

from __future__ import annotations

import sys

#: An error line is cut after this many characters: a message that echoes a
#: huge value from a file must not become a huge line.
MAX_ERROR = 500


def error_line(text: object) -> str:
    """`dhtea: error: <text>` on one line: control characters escaped, cut to `MAX_ERROR`."""
    raw = str(text)
    head = raw[: 2 * MAX_ERROR]
    line = "".join(c if c.isprintable() else repr(c)[1:-1] for c in head)
    if len(line) > MAX_ERROR or len(raw) > len(head):
        line = f"{line[:MAX_ERROR]}... ({len(raw)} characters in all)"
    return f"dhtea: error: {line}"


def report_error(text: object) -> int:
    """Print the error line on stderr; return the exit code for bad input, 2."""
    print(error_line(text), file=sys.stderr)
    return 2
