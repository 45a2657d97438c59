"""`classic`: the seed's concurrent join protocol, exactly as stated in the design
note, bugs included. It compares plain integers (no wrap-around), lets
CHANGE_NEIGHBOUR through whatever the lock says, and tells a joiner its side by
comparing ids. dhtea's hunts find where that goes wrong."""

from __future__ import annotations

from dhtea.core.messages import Message
from dhtea.core.node import Context, RingNode


class Classic(RingNode):
    """The seed's join protocol, bugs included (the first system under test)."""

    name = "classic"
    kinds = ("CONNECT", "CHANGE_NEIGHBOUR", "NEW_NEIGHBOUR", "SUCCESS_JOIN")

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
