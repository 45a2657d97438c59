"""Protocols that handle their join queue in unusual ways (loaded by `module:Class` path)."""

from collections import deque

from dhtea import RingNode
from invariants import NodeView


class QueueJuggler(RingNode):
    """Moves its queue every way a deque allows, so a change record must
    describe more than appends at the back and removals at the front."""

    def on_join(self, ctx, bootstrap):
        self.busy = True
        ctx.send(bootstrap, "ASK", joiner=self.id)

    def on_ask(self, ctx, msg):
        j = msg["joiner"]
        q = self.queue
        step = (j + len(q)) % 7
        if step == 0:
            q.appendleft(j)
        elif step == 1:
            q.extend((j, j + 1))
            q.rotate(1)
        elif step == 2 and q:
            q.remove(q[len(q) // 2])
            q.append(j)
        elif step == 3:
            q.clear()
            q.append(j)
        elif step == 4 and len(q) > 1:
            q[0], q[-1] = q[-1], q[0]
            q.append(j)
        else:
            q.append(j)
        if len(q) > 3:
            ctx.send(q.popleft(), "WELCOME", left=self.id, right=self.right)
            self.busy = not self.busy
        if len(q) > 5:
            self.queue = deque(sorted(q))  # a new object, not a mutation

    def on_welcome(self, ctx, msg):
        self.left, self.right = msg["left"], msg["right"]  # never a member: the ring stays checkable
        self.busy = False


class OwnView(RingNode):
    """Keeps its state in its own attributes and builds the view itself."""

    def __init__(self, node_id):
        super().__init__(node_id)
        self.waiting: list[int] = []
        self.hops = 0

    def on_join(self, ctx, bootstrap):
        ctx.send(bootstrap, "KNOCK", joiner=self.id, hops=0)

    def on_knock(self, ctx, msg):
        self.hops += 1  # not part of the view: no change recorded for it
        self.waiting.append(msg["joiner"])
        if msg["hops"] < 2:
            ctx.send(self.right, "KNOCK", joiner=msg["joiner"], hops=msg["hops"] + 1)
        else:
            self.waiting.pop(0)

    def view(self):
        return NodeView(self.id, self.left, self.right, self.member, self.hops % 2 == 1, tuple(self.waiting))
