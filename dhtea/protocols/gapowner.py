"""`gapowner`: the classic join made correct, with a graceful leave; and
`gaplease`, the same protocol with retries and leases, made to survive lost,
duplicated and reordered messages, healing partitions and the crash of a
joiner in mid-join. See GAPOWNER.md beside this file for the design and the
argument for each claim.

Each member owns the gap to its right and is the only node that inserts into
it; ring arithmetic (`between`) handles the wrap-around; the owner's lock is
held until the joiner is fully in; a joiner learns its side from the message,
not by comparing ids; and a joiner serves no request before it is a member.

A leaving node first takes its left neighbour's lock (that neighbour owns the
gap the leave merges into), then gives up membership and has its right
neighbour, then its left neighbour, point past it; then it stops. (In
`gaplease` it also stops when its left neighbour has been silent for a whole
lease after being told: that neighbour pointed past it, answered, and left.)

In `gaplease`, every request is resent on a timer until its answer arrives,
and every handler can take the same message twice. A lock taken for a joiner (or for a leaver)
is a lease, renewed by each message of that joiner's (leaver's) progress; a
lease that runs out means the node crashed, and the owner repairs the gap.
"""

from __future__ import annotations

from dhtea.core.messages import Message
from dhtea.core.node import Context, RingNode
from invariants.view import between

#: Resend what is unanswered this long after it was sent; the wait doubles
#: with each resend, up to RETRY_MAX, and starts again once all is answered.
RETRY = 10.0
RETRY_MAX = 160.0
#: A lock whose joiner or leaver has been silent this long is given up: the
#: node is taken to have crashed (see GAPOWNER.md for what this assumes).
LEASE = 10_000.0
#: A join request that has waited in a queue this long without its joiner
#: asking again is dropped when its turn comes: that joiner is gone (a live
#: one asks again at least every RETRY_MAX).
STALE = LEASE / 4
#: A joiner that has heard nothing from the ring this long stops asking. It
#: outlasts an owner's lease and the repair after it, as its requests may be
#: going to a crashed joiner until that repair.
GIVE_UP = 2.5 * LEASE


_NONE: frozenset = frozenset()  # an empty set shared until a node needs its own
_NO_TIMES: dict = {}  # never written: without retries no time is kept


class GapOwner(RingNode):
    """The corrected join (no timers); its leave needs gaplease's retries."""

    name = "gapowner"
    kinds = ("CONNECT", "CHANGE_NEIGHBOUR", "NEW_NEIGHBOUR", "SUCCESS_JOIN", "DEPART", "DEPART_OK",
             "SET_LEFT", "LEFT_SET", "SET_RIGHT", "RIGHT_SET", "BYPASS", "BYPASSED")
    # Joins on a reliable network only: its leave waits for a lock by asking
    # again, which takes gaplease's timers (a leave racing a join stalls here).
    tolerates: frozenset[str] = frozenset()
    #: Resend unanswered requests and hold locks as leases (`GapLease`); off
    #: here, so a run sets no timer and its state holds no time.
    retries = False

    def __init__(self, node_id: int) -> None:
        super().__init__(node_id)
        self.bootstrap: int | None = None
        self.joining = False  # between on_join and becoming a member, until it gives up
        self.join_heard = 0.0  # when the joiner last heard from the ring
        # What this node's lock is held for: ("insert", joiner, old right),
        # ("hold", leaver, leaver's right) or ("bypass", departed, right).
        self.op: tuple[str, int, int] | None = None
        # When the lock's joiner or leaver last showed progress; for a leaver
        # telling its left neighbour, when it began to (see on_timer).
        self.heard = 0.0
        self.leave_step: str | None = None  # "ask", "tell-right", "tell-left"
        self.leave_to: tuple[int, int] = (node_id, node_id)  # (left, right) when membership was given up
        # Made on first use: most nodes never need them, and a large run should
        # not keep three containers per node for the garbage collector.
        self.applied: set[tuple[int, int]] = _NONE  # (joiner, owner) CHANGE_NEIGHBOURs already applied
        self.departed: set[int] = _NONE  # nodes this node repaired the ring around
        self.timer_on = False
        self.retry = RETRY
        self.asked: dict[int, float] = {} if self.retries else _NO_TIMES  # queued joiner -> when it last asked

    # -- the retry timer: armed exactly while something waits for an answer ---

    def _pending(self) -> bool:
        return self.joining or self.op is not None or self.leave_step is not None

    def _timer(self, ctx: Context) -> None:
        if not self.retries:
            return
        pending = self._pending()
        if pending and not self.timer_on:
            ctx.set_timer("retry", self.retry)
            self.timer_on = True
        elif not pending and self.timer_on:
            ctx.cancel_timer("retry")
            self.timer_on = False
        if not pending:
            self.retry = RETRY

    def on_timer(self, ctx: Context, name: str) -> None:
        self.timer_on = False
        self.retry = min(self.retry * 2, RETRY_MAX)
        if self.joining and ctx.now - self.join_heard > GIVE_UP:
            self.joining = False  # nobody has answered for this long: give up, stay out
        elif self.joining:
            # Still joining: ask again; once the owner is known, ask the owner
            # (which also renews its lease: the join is alive).
            ctx.send(self.left if self.left is not None else self.bootstrap, "CONNECT", joiner=self.id)
        op = self.op
        if op is not None:
            kind, other, right = op
            if kind != "bypass" and ctx.now - self.heard > LEASE:
                self._bypass(ctx, other, right)
            elif kind == "insert":
                ctx.send(right, "CHANGE_NEIGHBOUR", joiner=other)
                ctx.send(other, "NEW_NEIGHBOUR", side="left")
            elif kind == "bypass":
                ctx.send(right, "BYPASS", gone=other)
        if self.leave_step == "ask":
            if not self.busy:
                ctx.send(self.left, "DEPART", right=self.right)
        elif self.leave_step == "tell-right":
            p, q = self.leave_to
            ctx.send(q, "SET_LEFT", node=p)
            ctx.send(p, "DEPART", right=q)  # keeps the left neighbour's lease alive
        elif self.leave_step == "tell-left":
            if ctx.now - self.heard > LEASE:
                # My left neighbour has not answered for a whole lease: it has
                # gone. It could only go after pointing past me (it holds its
                # lock for me until my SET_RIGHT, or until its lease on me runs
                # out and it points past me by BYPASS), and its answer to me
                # was lost. Nobody waits for me any more.
                self._stop(ctx)
                return
            p, q = self.leave_to
            ctx.send(p, "SET_RIGHT", node=q)
        self._timer(ctx)

    # -- joining ---------------------------------------------------------------

    def on_join(self, ctx: Context, bootstrap: int) -> None:
        self.member, self.busy = False, True  # a joiner serves nothing until it is in
        self.bootstrap, self.joining = bootstrap, self.retries
        self.join_heard = ctx.now if self.retries else 0.0
        ctx.send(bootstrap, "CONNECT", joiner=self.id)
        self._timer(ctx)

    def on_connect(self, ctx: Context, msg: Message) -> None:
        j = msg["joiner"]
        if self._holds("insert", j):
            self.heard = ctx.now if self.retries else 0.0  # the joiner I am inserting is alive: renew its lease
            ctx.send(j, "NEW_NEIGHBOUR", side="left")
            return
        if self.leaving:
            return  # a leaving node serves no join; the joiner asks again
        if self.retries:
            self.asked[j] = ctx.now
        if j not in self.queue:
            self.queue.append(j)
            self._serve(ctx)

    def _holds(self, kind: str, node: int) -> bool:
        """Whether my lock is held for `kind` ("insert", "hold", "bypass") of `node`."""
        return self.op is not None and self.op[0] == kind and self.op[1] == node

    def _serve(self, ctx: Context) -> None:
        if self.leave_step == "ask" and not self.busy:  # my leave waited for my lock: ask now
            ctx.send(self.left, "DEPART", right=self.right)
        while not self.busy and self.queue and not self.leaving:
            j = self.queue.popleft()
            if j in (self.id, self.left, self.right) or j in self.departed:
                continue  # a copy of a request already served, or from a node repaired around
            if self.retries and ctx.now - self.asked.pop(j, ctx.now) > STALE:
                continue  # its joiner stopped asking long ago: it is gone
            if between(j, self.id, self.right):  # my gap: only I insert here
                self.busy = True  # held until j reports SUCCESS_JOIN, or its lease runs out
                self.op, self.heard = ("insert", j, self.right), ctx.now if self.retries else 0.0
                ctx.send(self.right, "CHANGE_NEIGHBOUR", joiner=j)
                ctx.send(j, "NEW_NEIGHBOUR", side="left")
                self.right = j
            elif between(j, self.left, self.id):  # my left neighbour's gap
                ctx.send(self.left, "CONNECT", joiner=j)
            else:
                ctx.send(self.right, "CONNECT", joiner=j)
        self._timer(ctx)

    def on_change_neighbour(self, ctx: Context, msg: Message) -> None:
        # Only my left neighbour m (the owner of the gap on my left) sends this,
        # and it holds its lock until the joiner is in, so no two can race.
        # Applied once: a late copy must not undo a later change.
        j, m = msg["joiner"], msg.src
        if (j, m) not in self.applied and self.left == m:
            if self.applied is _NONE:
                self.applied = set()
            self.applied.add((j, m))
            self.left = j
        if self.left == j:
            ctx.send(j, "NEW_NEIGHBOUR", side="right")

    def on_new_neighbour(self, ctx: Context, msg: Message) -> None:
        # A leaver was a member (a joiner's leave waits until it is one): a late
        # copy of its insertion's answer must not make it one again mid-leave.
        if self.member or self.leaving:
            if msg["side"] == "left" and msg.src == self.left:
                ctx.send(self.left, "SUCCESS_JOIN")  # my first answer was lost
            return
        self.join_heard = ctx.now if self.retries else 0.0
        if msg["side"] == "left":
            self.left = msg.src
        else:
            self.right = msg.src
        if self.left is not None and self.right is not None:
            self.member, self.busy, self.joining = True, False, False
            ctx.send(self.left, "SUCCESS_JOIN")
            self._serve(ctx)
        self._timer(ctx)

    def on_success_join(self, ctx: Context, msg: Message) -> None:
        if self._holds("insert", msg.src):  # not a late copy from an earlier joiner
            self.op, self.busy = None, False
            self._serve(ctx)

    def _unlock(self, ctx: Context) -> None:
        self.op, self.busy = None, False
        self._serve(ctx)

    # -- repairing around a node that went silent -------------------------------

    def _bypass(self, ctx: Context, gone: int, right: int) -> None:
        """`gone` (my joiner, or my leaving right neighbour) was silent for a whole
        lease: it crashed. Point past it, and have `right` do the same."""
        self._departs(gone)
        if self.right == gone:
            self.right = right
        self.op, self.heard = ("bypass", gone, right), ctx.now if self.retries else 0.0
        ctx.send(right, "BYPASS", gone=gone)

    def on_bypass(self, ctx: Context, msg: Message) -> None:
        gone = msg["gone"]
        self._departs(gone)
        if self.left == gone:
            self.left = msg.src
        ctx.send(msg.src, "BYPASSED", gone=gone)

    def on_bypassed(self, ctx: Context, msg: Message) -> None:
        if self._holds("bypass", msg["gone"]):
            self._unlock(ctx)

    # -- leaving ---------------------------------------------------------------

    def on_leave(self, ctx: Context) -> None:
        if self.leaving:
            return
        self.leaving = True
        self.queue.clear()
        if self.retries:
            self.asked.clear()  # their joiners ask again, and reach the node that owns the gap then
        if self.member and self.left == self.id:  # alone: nobody to tell
            self.member = False
            ctx.stop()
            return
        self.leave_step = "ask"
        if not self.busy:
            ctx.send(self.left, "DEPART", right=self.right)
        self._timer(ctx)

    def on_depart(self, ctx: Context, msg: Message) -> None:
        leaver = msg.src
        if self._holds("hold", leaver):
            self.heard = ctx.now if self.retries else 0.0  # the leave is alive: renew its lease
            ctx.send(leaver, "DEPART_OK")
        elif self.member and not self.busy and not self.leaving and self.right == leaver:
            self.busy = True  # no insertion into the gap the leaver is in until it is out
            self.op, self.heard = ("hold", leaver, msg["right"]), ctx.now if self.retries else 0.0
            ctx.send(leaver, "DEPART_OK")
            self._timer(ctx)

    def on_depart_ok(self, ctx: Context, msg: Message) -> None:
        if self.leave_step != "ask" or msg.src != self.left or self.busy or not self.member:
            return
        self.member = False  # from now on a stand-in in the gap from left to right
        self.leave_to = (self.left, self.right)
        self.leave_step = "tell-right"
        ctx.send(self.right, "SET_LEFT", node=self.left)

    def on_set_left(self, ctx: Context, msg: Message) -> None:
        self._departs(msg.src)
        if self.left == msg.src:
            self.left = msg["node"]
        ctx.send(msg.src, "LEFT_SET")

    def _departs(self, leaver: int) -> None:
        """`leaver` is on its way out and never comes back: a late request it
        sent while joining (a retried CONNECT) must not insert it again."""
        if self.departed is _NONE:
            self.departed = set()
        self.departed.add(leaver)

    def on_left_set(self, ctx: Context, msg: Message) -> None:
        if self.leave_step == "tell-right" and msg.src == self.leave_to[1]:
            self.leave_step = "tell-left"
            self.heard = ctx.now if self.retries else 0.0
            p, q = self.leave_to
            ctx.send(p, "SET_RIGHT", node=q)

    def on_set_right(self, ctx: Context, msg: Message) -> None:
        leaver = msg.src
        self._departs(leaver)
        if self.right == leaver:
            self.right = msg["node"]
        ctx.send(leaver, "RIGHT_SET")
        if self._holds("hold", leaver):
            self._unlock(ctx)
        self._timer(ctx)

    def on_right_set(self, ctx: Context, msg: Message) -> None:
        if self.leave_step == "tell-left" and msg.src == self.leave_to[0]:
            self._stop(ctx)

    def _stop(self, ctx: Context) -> None:
        self.leave_step = None
        self._timer(ctx)
        ctx.stop()


class GapLease(GapOwner):
    """gapowner with retries and leases: survives lost, duplicated and partitioned messages and joiner crashes."""

    name = "gaplease"
    tolerates = frozenset({"leave", "crash-joiner", "loss", "duplicate", "partition"})
    leave_within = 2 * LEASE  # a leaver may wait out its left neighbour's silence for a lease
    retries = True
