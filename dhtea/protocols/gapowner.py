"""`gapowner`: the classic join made correct. See GAPOWNER.md beside this file
for the design and the argument that it is correct.

Each member owns the gap to its right and is the only node that inserts into
it; ring arithmetic (`between`) handles the wrap-around; the owner's lock is
held until the joiner is fully in; a joiner learns its side from the message,
not by comparing ids; and a joiner serves no request before it is a member."""

from __future__ import annotations

from dhtea.core.messages import Message
from dhtea.core.node import Context, RingNode
from invariants.view import between


class GapOwner(RingNode):
    """The corrected join: one owner per gap, ring arithmetic, lock held until the joiner is in."""

    name = "gapowner"
    kinds = ("CONNECT", "CHANGE_NEIGHBOUR", "NEW_NEIGHBOUR", "SUCCESS_JOIN")

    def on_join(self, ctx: Context, bootstrap: int) -> None:
        self.member, self.busy = False, True  # a joiner serves nothing until it is in
        ctx.send(bootstrap, "CONNECT", joiner=self.id)

    def on_connect(self, ctx: Context, msg: Message) -> None:
        self.queue.append(msg["joiner"])
        self._serve(ctx)

    def _serve(self, ctx: Context) -> None:
        while not self.busy and self.queue:
            j = self.queue.popleft()
            if between(j, self.id, self.right):  # my gap: only I insert here
                self.busy = True  # held until j reports SUCCESS_JOIN
                ctx.send(self.right, "CHANGE_NEIGHBOUR", joiner=j)
                ctx.send(j, "NEW_NEIGHBOUR", side="left")
                self.right = j
            elif between(j, self.left, self.id):  # my left neighbour's gap
                ctx.send(self.left, "CONNECT", joiner=j)
            else:
                ctx.send(self.right, "CONNECT", joiner=j)

    def on_change_neighbour(self, ctx: Context, msg: Message) -> None:
        # Only my left neighbour (the owner of the gap on my left) sends this,
        # and it holds its lock until the joiner is in, so no two can race.
        j = msg["joiner"]
        self.left = j
        ctx.send(j, "NEW_NEIGHBOUR", side="right")

    def on_new_neighbour(self, ctx: Context, msg: Message) -> None:
        if msg["side"] == "left":
            self.left = msg.src
        else:
            self.right = msg.src
        if not self.member and self.left is not None and self.right is not None:
            self.member, self.busy = True, False
            ctx.send(self.left, "SUCCESS_JOIN")
            self._serve(ctx)

    def on_success_join(self, ctx: Context, msg: Message) -> None:
        self.busy = False
        self._serve(ctx)
