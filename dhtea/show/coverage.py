"""A hunt's statistics as text: the scenarios it ran by feature, how many runs
reached each interesting state, and what it never exercised (from the
`statistics` of `hunt.json`)."""

from __future__ import annotations


def coverage_lines(stats: dict) -> list[str]:
    """A few lines for the terminal; [] when there are no statistics."""
    if not stats:
        return []
    runs = stats["runs"]
    lines = [f"what the hunt exercised ({runs} runs):"]
    width = max([len(n) for n in stats["features"]] + [len("states")])
    for name, counts in stats["features"].items():
        cells = "  ".join(f"{value}: {n}" + (" (never)" if n == 0 else "") for value, n in counts.items())
        lines.append(f"  {name:<{width}}  {cells}")
    for i, (state, n) in enumerate(stats["states"].items()):
        label = "states" if i == 0 else ""
        lines.append(f"  {label:<{width}}  {state}: {n} run(s)" + (" (never)" if n == 0 else ""))
    never = stats["never"]
    lines.append("never exercised: " + ", ".join(never) if never else "every listed case was exercised at least once")
    return lines
