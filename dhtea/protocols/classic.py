"""`classic`: the seed's concurrent join protocol, exactly as stated in the design
note, bugs included. It compares plain integers (no wrap-around), lets
CHANGE_NEIGHBOUR through whatever the lock says, and tells a joiner its side by
comparing ids. dhtea's hunts find where that goes wrong.

The join (the seed README, restated in the design note): a joiner sends
`CONNECT(joiner)` to its bootstrap; a member queues it and serves one request
at a time: it forwards the request right if `j > right > self`, left if
`j < left < self`, else inserts `j` on its own side by comparing ids
(`CHANGE_NEIGHBOUR(j)` to that neighbour, pointer to `j`, `NEW_NEIGHBOUR` to
`j`) and stays busy; the neighbour sets its pointer, becomes busy and sends
`NEW_NEIGHBOUR` to `j`; once `j` has both pointers it is a member and sends
`SUCCESS_JOIN` to both, which unlocks them.

The leave, as the seed's real-world version does it on shutdown: the leaving
node sends its left neighbour `CHANGE_RIGHT(node=its right)` ("your right is my
right") and its right neighbour `CHANGE_LEFT(node=its left)` ("your left is my
left"), then stops. No lock is taken and nothing is acknowledged; the receiver
sets the pointer, whatever it is doing. So a leave racing a join into the same
gap, or two neighbours leaving at once, can leave pointers at departed nodes.
"""

from __future__ import annotations

from dhtea.core.messages import Message
from dhtea.core.node import Context, RingNode


class Classic(RingNode):
    """The seed's join protocol, bugs included (the first system under test)."""

    name = "classic"
    kinds = ("CONNECT", "CHANGE_NEIGHBOUR", "NEW_NEIGHBOUR", "SUCCESS_JOIN", "CHANGE_RIGHT", "CHANGE_LEFT")
    tolerates: frozenset[str] = frozenset()  # its leave is the seed's; `--faults leave` shows where it breaks

    def on_join(self, ctx: Context, bootstrap: int) -> None:
        self.member, self.busy = False, True
        ctx.send(bootstrap, "CONNECT", joiner=self.id)

    def on_connect(self, ctx: Context, msg: Message) -> None:
        self.queue.append(msg["joiner"])
        self._serve(ctx)

    def _serve(self, ctx: Context) -> None:
        while not self.busy and self.queue:
            j = self.queue.popleft()
            self.busy = True
            if j > self.right and self.right > self.id:
                ctx.send(self.right, "CONNECT", joiner=j)
                self.busy = False
            elif j < self.left and self.left < self.id:
                ctx.send(self.left, "CONNECT", joiner=j)
                self.busy = False
            elif j > self.id:
                ctx.send(self.right, "CHANGE_NEIGHBOUR", joiner=j)
                self.right = j
                ctx.send(j, "NEW_NEIGHBOUR", sender=self.id)
            elif j < self.id:
                ctx.send(self.left, "CHANGE_NEIGHBOUR", joiner=j)
                self.left = j
                ctx.send(j, "NEW_NEIGHBOUR", sender=self.id)

    def on_change_neighbour(self, ctx: Context, msg: Message) -> None:
        j = msg["joiner"]
        if j > self.id:
            self.right = j
        if j < self.id:
            self.left = j
        self.busy = True
        ctx.send(j, "NEW_NEIGHBOUR", sender=self.id)

    def on_new_neighbour(self, ctx: Context, msg: Message) -> None:
        x = msg["sender"]
        if x > self.id:
            self.right = x
        if x < self.id:
            self.left = x
        if not self.member and self.left is not None and self.right is not None:
            self.member, self.busy = True, False
            ctx.send(self.left, "SUCCESS_JOIN")
            ctx.send(self.right, "SUCCESS_JOIN")
            self._serve(ctx)

    def on_success_join(self, ctx: Context, msg: Message) -> None:
        self.busy = False
        self._serve(ctx)

    def on_leave(self, ctx: Context) -> None:
        ctx.send(self.left, "CHANGE_RIGHT", node=self.right)
        ctx.send(self.right, "CHANGE_LEFT", node=self.left)
        ctx.stop()

    def on_change_right(self, ctx: Context, msg: Message) -> None:
        self.right = msg["node"]

    def on_change_left(self, ctx: Context, msg: Message) -> None:
        self.left = msg["node"]
