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
    # The nearest state on a cycle (breadth first from the stuck state), then the
    # shortest cycle through it: every state here is stuck, so every successor is too.
    reach = _bfs(stuck, lo, hi, edges)
    for v in reach:
        back = _bfs(v, lo, hi, edges, goal=v)
        if back is not None:
            return stuck, _moves(stuck, v, reach, lo, hi, edges), back
    raise AssertionError("a stuck state always leads to a cycle")  # finite graph, every stuck state has successors


def _bfs(start: int, lo: array, hi: array, edges: array, goal: int | None = None):
    """Breadth first from `start`: {state: (parent, edge position)} in visiting
    order, or with `goal`, the edge positions of a shortest path back to `goal`."""
    parent: dict[int, tuple[int, int]] = {start: (-1, -1)}
    queue = [start]
    for v in queue:
        for pos, k in enumerate(range(lo[v], hi[v])):
            t = edges[k]
            if t == goal:
                moves = [pos]
                while v != start:
                    v, p = parent[v]
                    moves.append(p)
                return moves[::-1]
            if t not in parent:
                parent[t] = (v, pos)
                queue.append(t)
    return None if goal is not None else parent


def _moves(start: int, end: int, parent: dict[int, tuple[int, int]], lo, hi, edges) -> list[int]:
    out = []
    while end != start:
        end, pos = parent[end]
        out.append(pos)
    return out[::-1]
