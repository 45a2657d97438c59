"""Liveness over an explored state graph: states from which no run can come to rest.

A state is `settled` if a run can stop there as far as the search knows: it is
at rest, it violates an invariant (the run stops), or it was never expanded
(a bound cut the search; it is given the benefit of the doubt). Every state
that can reach a settled one is fine. Any other state was expanded, all its
successors are like it, and the graph is finite, so from it every run goes
round some cycle forever without coming to rest: a `progress` violation (a
livelock if messages keep flowing, a deadlock dressed as one if only retries
do). The report is a lasso: the steps to the first such state in
breadth-first order (so the prefix is as short as any), then a walk to a
cycle and one turn of it.
"""

from __future__ import annotations

from array import array


def _can_settle(lo: array, hi: array, edges: array, settled: bytearray) -> bytearray:
    n = len(settled)
    # Reverse adjacency in compressed form: sources of the edges into each state.
    counts = array("q", bytes(8 * (n + 1)))
    for i in range(n):
        for k in range(lo[i], hi[i]):
            counts[edges[k] + 1] += 1
    for i in range(n):
        counts[i + 1] += counts[i]
    fill = array("q", counts)
    sources = array("q", bytes(8 * len(edges)))
    for i in range(n):
        for k in range(lo[i], hi[i]):
            t = edges[k]
            sources[fill[t]] = i
            fill[t] += 1
    good = bytearray(settled)
    todo = [i for i in range(n) if good[i]]
    while todo:
        v = todo.pop()
        for k in range(counts[v], counts[v + 1]):
            u = sources[k]
            if not good[u]:
                good[u] = 1
                todo.append(u)
    return good


def stuck_lasso(lo: array, hi: array, edges: array, settled: bytearray) -> tuple[int, list[int], list[int]] | None:
    """The first stuck state in index order, with the lasso from it as edge
    positions (the k-th successor of each state passed): the walk to the cycle,
    then the cycle. None if every state can come to rest."""
    good = _can_settle(lo, hi, edges, settled)
    stuck = good.find(0)
    if stuck < 0:
        return None
    seen: dict[int, int] = {}
    moves: list[int] = []
    v = stuck
    while v not in seen:
        seen[v] = len(moves)
        # Prefer a successor already on the walk (closes the cycle soonest), else the first.
        succ = [edges[k] for k in range(lo[v], hi[v])]
        k = next((i for i, t in enumerate(succ) if t in seen), 0)
        moves.append(k)
        v = succ[k]
    cut = seen[v]
    return stuck, moves[:cut], moves[cut:]
