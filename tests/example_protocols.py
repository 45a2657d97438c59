"""Small protocols used by the tests (loaded by `module:Class` path too)."""

from dhtea import RingNode


class Crashing(RingNode):
    """Raises on the first message it gets: the simulator reports a handler error."""

    def on_join(self, ctx, bootstrap):
        ctx.send(bootstrap, "HELLO")

    def on_hello(self, ctx, msg):
        raise RuntimeError("boom")


class TimerJoin(RingNode):
    """Joins after a timer; a cancelled and a restarted timer must not fire early."""

    def on_join(self, ctx, bootstrap):
        self.busy = True
        self.bootstrap = bootstrap
        ctx.set_timer("never", 1)
        ctx.cancel_timer("never")
        ctx.set_timer("go", 5)
        ctx.set_timer("go", 2)  # restarts: fires once, at +2

    def on_timer(self, ctx, name):
        assert name == "go"
        ctx.send(self.bootstrap, "ADOPT")

    def on_adopt(self, ctx, msg):
        # A lone member adopts the joiner: both point at each other.
        self.left = self.right = msg.src
        ctx.send(msg.src, "WELCOME")

    def on_welcome(self, ctx, msg):
        self.left = self.right = msg.src
        self.member, self.busy = True, False


class Lost(RingNode):
    """Sends to a node that is not part of the run."""

    def on_join(self, ctx, bootstrap):
        ctx.send(12345, "ANYONE")


class HalfDone(RingNode):
    """Changes its state, then raises: the change is still in the trace."""

    def on_join(self, ctx, bootstrap):
        self.left = bootstrap
        ctx.send(bootstrap, "NEVER_SENT")
        raise ValueError("half done")


class Rearm(RingNode):
    """Sets a timer for 10, cancels it at 1, sets it again at 2 for 20: it must fire at 22."""

    def on_join(self, ctx, bootstrap):
        ctx.set_timer("t", 10)
        ctx.set_timer("cancel", 1)
        ctx.set_timer("rearm", 2)

    def on_timer(self, ctx, name):
        if name == "cancel":
            ctx.cancel_timer("t")
        elif name == "rearm":
            ctx.set_timer("t", 20)


class BadEffects(RingNode):
    """Asks for impossible effects; `kind` picks which."""

    kind = "send"

    def on_join(self, ctx, bootstrap):
        if self.kind == "send":
            ctx.send("abc", "X")
        else:
            ctx.set_timer("t", -1)


class BadTimer(BadEffects):
    kind = "timer"


class NoIdConstructor:
    """Looks like a protocol but cannot be built from a node id."""

    def __init__(self):
        pass

    def on_join(self, ctx, bootstrap):
        pass

    def on_message(self, ctx, msg):
        pass

    def view(self):
        pass


# -- protocols that never come to rest (the explorer and the simulator report `progress`) --

from dhtea.protocols.gapowner import GapOwner  # noqa: E402


class WrapAround(GapOwner):
    """gapowner with plain `<` instead of ring arithmetic: a joiner beyond the
    largest member (or below the smallest) is never inside any gap, so its
    request goes round the ring forever."""

    def _serve(self, ctx, *_):
        while not self.busy and self.queue:
            j = self.queue.popleft()
            if self.id < j < self.right:
                self.busy = True
                ctx.send(self.right, "CHANGE_NEIGHBOUR", joiner=j)
                ctx.send(j, "NEW_NEIGHBOUR", side="left")
                self.right = j
            else:
                ctx.send(self.right, "CONNECT", joiner=j)


class Forgetful(GapOwner):
    """Never releases the gap owner's lock; a member that is busy refuses a
    join, and the refused joiner retries after a timer, forever."""

    def on_join(self, ctx, bootstrap):
        self.bootstrap = bootstrap
        super().on_join(ctx, bootstrap)

    def on_connect(self, ctx, msg):
        if self.busy:
            ctx.send(msg["joiner"], "BUSY")
        else:
            super().on_connect(ctx, msg)

    def on_busy(self, ctx, msg):
        ctx.set_timer("retry", 1)

    def on_timer(self, ctx, name):
        ctx.send(self.bootstrap, "CONNECT", joiner=self.id)

    def on_success_join(self, ctx, msg):
        pass  # the bug: the lock is never released


class Arithmetic(GapOwner):
    """Uses ids as numbers (odd joiners go left first): not explorable up to relabelling."""

    def _serve(self, ctx):
        if self.queue and self.queue[0] % 2 and not self.busy and self.queue[0] != self.left:
            j = self.queue.popleft()
            ctx.send(self.left, "CONNECT", joiner=j + 0)
            return
        super()._serve(ctx)


class Dice(GapOwner):
    """Picks a neighbour at random: the explorer refuses ctx.rng."""

    def on_connect(self, ctx, msg):
        if ctx.rng.random() < 2:
            super().on_connect(ctx, msg)


class Unguarded(GapOwner):
    """Applies every CHANGE_NEIGHBOUR it receives: correct when each message
    arrives once, but a late copy undoes a later change (ring-order)."""

    def on_change_neighbour(self, ctx, msg):
        self.left = msg["joiner"]
        ctx.send(self.left, "NEW_NEIGHBOUR", side="right")


class NoLeave(GapOwner):
    """gapowner without a graceful leave: a real node stopped by SIGTERM just stops."""

    on_leave = RingNode.on_leave


class Clock(RingNode):
    """Records the protocol clock at its join and when its timer of 2 units fires."""

    kinds = ("TICK",)

    def on_join(self, ctx, bootstrap):
        self.busy = True
        self.times = [ctx.now]
        ctx.set_timer("tick", 2)

    def on_timer(self, ctx, name):
        self.times.append(ctx.now)
        self.busy = False


class Lingering(GapOwner):
    """gapowner whose leave never finishes: a real node waits out its grace time."""

    def on_leave(self, ctx):
        self.leaving = True


class Pinger(RingNode):
    """A joiner sends PING to its bootstrap at its start and again every
    `PERIOD`, for ever; nothing answers (a retry loop, for folds and faults)."""

    kinds = ("PING",)
    PERIOD = 100

    def on_join(self, ctx, bootstrap):
        self.to = bootstrap
        self.on_timer(ctx, "again")

    def on_timer(self, ctx, name):
        ctx.send(self.to, "PING")
        ctx.set_timer("again", self.PERIOD)

    def on_ping(self, ctx, msg):
        pass
