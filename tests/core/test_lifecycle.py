"""Delivery across the life of threads and processes: thread ends, nested drains, fork and exit."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import gevent
import pytest

from django_event_system.core import EventDispatcher, HandlerErrors, HandlerInterruptedError
from tests.core.handlers import draining_handler, slow_handler
from tests.scripts import run_script


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


needs_proc = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counting descriptors needs /proc")


def run_in_thread(target: Callable[..., object], *args: object) -> threading.Thread:
    """Run ``target(*args)`` in a new thread and wait for the thread to end (the test fails after 10 s)."""
    thread = threading.Thread(target=target, args=args)
    thread.start()
    thread.join(10)
    assert not thread.is_alive()
    return thread


# -- threads that end ----------------------------------------------------------------------------


@needs_proc
def test_threads_that_end_leave_no_hub_behind(dispatcher: EventDispatcher) -> None:
    """200 threads that each dispatch and drain leave the process's descriptors as they were."""
    seen: list[int] = []
    dispatcher.RegisterHandler("thread::work", lambda name, number: seen.append(number))

    def work(number: int) -> None:
        dispatcher.Dispatch("thread::work", number)
        dispatcher.ClearQueue(timeout=10)

    def run_threads(count: int, start: int) -> None:
        for number in range(start, start + count):
            run_in_thread(work, number)

    run_threads(10, 0)  # whatever is created once per process is there now
    before = open_fds()
    run_threads(200, 10)
    assert open_fds() - before <= 2
    assert sorted(seen) == list(range(210))


@needs_proc
def test_a_thread_that_ends_without_draining_has_its_events_handled_once(dispatcher: EventDispatcher) -> None:
    """What a thread queued and never drained is handled before the thread is gone, exactly once."""
    seen: list[tuple[int, int]] = []
    dispatcher.RegisterHandler("thread::left", lambda name, number: seen.append((number, threading.get_ident())))
    before = open_fds()
    idents = []
    for number in range(50):
        idents.append(run_in_thread(dispatcher.Dispatch, "thread::left", number).ident)
    assert sorted(number for number, _ in seen) == list(range(50))  # handled by the time join() returned
    assert [ident for _, ident in sorted(seen)] == idents  # each in its own thread
    assert open_fds() - before <= 2


def test_a_thread_whose_drain_timed_out_finishes_its_handlers_before_it_ends(dispatcher: EventDispatcher) -> None:
    """The handler still running when a drain gave up, and the events behind it, are handled as the thread ends."""
    done: list[str] = []
    dispatcher.RegisterHandler("slow::.*", slow_handler(0.3, done))
    timed_out: list[bool] = []

    def request() -> None:
        dispatcher.Dispatch("slow::first")
        dispatcher.Dispatch("slow::second")
        try:
            dispatcher.ClearQueue(timeout=0.05)
        except TimeoutError:
            timed_out.append(True)

    run_in_thread(request)
    assert timed_out == [True]
    assert sorted(done) == ["slow::first", "slow::second"]


def test_errors_left_in_a_thread_that_ends_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    """Under ``"raise"``, failures no ClearQueue of that thread will raise are logged when it ends."""
    dispatcher = EventDispatcher(error_policy="raise")

    def broken(name: str) -> None:
        raise ValueError("lost in a thread")

    dispatcher.RegisterHandler("broken", broken)
    run_in_thread(dispatcher.Dispatch, "broken")
    assert any("lost in a thread" in str(record.exc_info[1]) for record in caplog.records if record.exc_info)
    dispatcher.ClearQueue(timeout=5)  # nothing left to raise here


def test_a_daemon_thread_alive_at_exit_has_what_it_queued_handled(tmp_path: Path) -> None:
    """A daemon thread still running at exit: the events it queued are handled by the exit drain."""
    out = run_script(
        """
        import threading, time
        from django_event_system import Dispatcher

        Dispatcher.RegisterHandler("daemon::.*", lambda name, n: print("handled", n, flush=True))
        queued = threading.Event()

        def daemon():
            for n in range(3):
                Dispatcher.Dispatch("daemon::work", n)
            queued.set()
            time.sleep(60)  # still alive when the interpreter exits

        threading.Thread(target=daemon, daemon=True).start()
        assert queued.wait(10)
        """,
        tmp_path,
        timeout=30,
    )
    assert sorted(out.split("\n")[:-1]) == ["handled 0", "handled 1", "handled 2"]


# -- drains that nest ----------------------------------------------------------------------------


@pytest.mark.parametrize("pool_size", [1, 100])
def test_drains_nested_in_handlers_return(pool_size: int, tmp_path: Path) -> None:
    """A handler that drains, whose event's handler drains, four levels deep, finishes every level in order."""
    out = run_script(
        f"""
        from django_event_system import EventDispatcher

        dispatcher = EventDispatcher(pool_size={pool_size}, error_policy="raise")
        seen = []

        @dispatcher.EnsureQueueIsCleared
        def service(level):
            dispatcher.Dispatch("level", level)

        def handler(name, level):
            seen.append(("start", level))
            if level < 4:
                service(level + 1)
            seen.append(("end", level))

        dispatcher.RegisterHandler("level", handler)
        service(0)
        starts = [("start", level) for level in range(5)]
        ends = [("end", level) for level in reversed(range(5))]
        assert seen == starts + ends, seen
        print("ok")
        """,
        tmp_path,
        timeout=30,
    )
    assert out == "ok\n"


def test_a_drain_in_a_greenlet_that_a_handler_joins_returns(dispatcher: EventDispatcher) -> None:
    """A handler that spawns and joins a greenlet which drains the same dispatcher does not deadlock."""
    seen: list[str] = []

    def inner(name: str) -> None:
        seen.append(name)

    def drain_elsewhere() -> None:
        dispatcher.Dispatch("joined::inner")
        dispatcher.ClearQueue(timeout=5)
        seen.append("drained")

    def outer(name: str) -> None:
        gevent.spawn(drain_elsewhere).join(timeout=5)
        seen.append("joined")

    dispatcher.error_policy = "raise"
    dispatcher.RegisterHandler("joined::outer", outer)
    dispatcher.RegisterHandler("joined::inner", inner)
    dispatcher.Dispatch("joined::outer")
    dispatcher.ClearQueue(timeout=10)
    assert seen == ["joined::inner", "drained", "joined"]


@pytest.mark.parametrize("pool_size", [1, 100])
def test_two_dispatchers_whose_handlers_drain_each_other_finish(pool_size: int) -> None:
    """A's handler drains B, whose handler drains A: both drains return and every event is handled."""
    first = EventDispatcher(pool_size=pool_size, error_policy="raise")
    second = EventDispatcher(pool_size=pool_size, error_policy="raise")
    seen: list[str] = []
    first.RegisterHandler("a::ping", draining_handler(second, "b::ping", seen, "a done"))
    first.RegisterHandler("a::pong", lambda name: seen.append(name))
    second.RegisterHandler("b::ping", draining_handler(first, "a::pong", seen, "b done"))
    first.Dispatch("a::ping")
    first.ClearQueue(timeout=10)
    second.ClearQueue(timeout=10)
    assert seen == ["a::pong", "b done", "a done"]


def test_a_drain_from_main_code_still_waits_for_a_handler_that_drains() -> None:
    """ClearQueue from application code waits for a handler that is itself waiting in a drain."""
    first = EventDispatcher()
    second = EventDispatcher()
    seen: list[str] = []
    first.RegisterHandler("draining", draining_handler(second, "slow", seen, "draining"))
    second.RegisterHandler("slow", slow_handler(0.1, seen))
    first.Dispatch("draining")
    first.ClearQueue(timeout=10)
    assert seen == ["slow", "draining"]


# -- timeouts ------------------------------------------------------------------------------------


def test_a_timeout_inside_a_handler_is_raised_where_the_handler_waited(dispatcher: EventDispatcher) -> None:
    """ClearQueue(timeout) in a handler raises TimeoutError there, and no other handler is blamed for it."""
    outcome: list[str] = []
    failures: list[object] = []
    dispatcher.error_policy = failures.append

    def impatient(name: str) -> None:
        dispatcher.Dispatch("timeout::slow")
        try:
            dispatcher.ClearQueue(timeout=0.05)
        except TimeoutError:
            outcome.append("timed out")

    dispatcher.RegisterHandler("timeout::slow", slow_handler(0.5, outcome, "slow done"))
    dispatcher.RegisterHandler("timeout::impatient", impatient)
    dispatcher.Dispatch("timeout::impatient")
    dispatcher.ClearQueue(timeout=10)
    assert outcome == ["timed out", "slow done"]
    assert failures == []


def test_a_timeout_from_main_code_interrupts_no_handler(dispatcher: EventDispatcher) -> None:
    """A drain that gives up leaves the running handler to finish; the next drain sees it done."""
    done: list[str] = []
    dispatcher.RegisterHandler("slow", slow_handler(0.2, done))
    dispatcher.Dispatch("slow")
    with pytest.raises(TimeoutError, match=r"not drained within 0\.05 s"):
        dispatcher.ClearQueue(timeout=0.05)
    assert done == []  # still running: the drain gave up without waiting for it, or cutting it short
    dispatcher.ClearQueue(timeout=10)
    assert done == ["slow"]


# -- exceptions that are not Exceptions ----------------------------------------------------------


@pytest.mark.parametrize("raised", [gevent.Timeout(), gevent.GreenletExit()], ids=["Timeout", "GreenletExit"])
def test_base_exceptions_of_a_handler_are_isolated_and_reported(
    dispatcher: EventDispatcher, raised: BaseException
) -> None:
    """A gevent.Timeout or GreenletExit from a handler skips no other handler and reaches the policy."""
    seen: list[str] = []

    def broken(name: str) -> None:
        seen.append("broken")
        raise raised

    dispatcher.error_policy = "raise"
    dispatcher.RegisterHandler("base", broken, priority=1)
    dispatcher.RegisterHandler("base", lambda name: seen.append("after"))
    dispatcher.Dispatch("base")
    dispatcher.Dispatch("base")
    with pytest.raises(HandlerErrors) as caught:
        dispatcher.ClearQueue(timeout=5)
    assert seen == ["broken", "after", "broken", "after"]
    assert len(caught.value.exceptions) == 2
    assert all(exc.__cause__ is raised for exc in caught.value.exceptions)
    assert f"handler raised {type(raised).__name__}" in str(caught.value.exceptions[0])


def test_keyboard_interrupt_outside_the_main_thread_is_isolated(dispatcher: EventDispatcher) -> None:
    """Outside the main thread, SystemExit and KeyboardInterrupt from a handler are reported, not fatal."""
    failures: list[Exception] = []
    seen: list[str] = []

    def interrupted(name: str) -> None:
        raise KeyboardInterrupt

    def exiting(name: str) -> None:
        raise SystemExit(3)

    dispatcher.error_policy = lambda failure: failures.append(failure.exception)
    dispatcher.RegisterHandler("fatal", interrupted, priority=2)
    dispatcher.RegisterHandler("fatal", exiting, priority=1)
    dispatcher.RegisterHandler("fatal", lambda name: seen.append(name))

    def work() -> None:
        dispatcher.Dispatch("fatal")
        dispatcher.ClearQueue(timeout=5)
        seen.append("thread went on")

    run_in_thread(work)
    assert seen == ["fatal", "thread went on"]
    assert all(isinstance(exc, HandlerInterruptedError) for exc in failures)
    assert [type(exc.__cause__) for exc in failures] == [KeyboardInterrupt, SystemExit]
    assert str(failures[1]).startswith("handler raised SystemExit: SystemExit(3) (handler ")


def test_system_exit_in_the_main_thread_ends_the_process(tmp_path: Path) -> None:
    """In the main thread, SystemExit from a handler passes it, and the process exits with its code."""
    out = run_script(
        """
        import sys
        from django_event_system import Dispatcher

        Dispatcher.RegisterHandler("stop", lambda name: sys.exit(7))
        Dispatcher.RegisterHandler("later", lambda name: print("handled at exit", flush=True))
        Dispatcher.Dispatch("stop")
        Dispatcher.Dispatch("later")
        Dispatcher.ClearQueue()
        print("not reached")
        """,
        tmp_path,
        timeout=30,
        returncode=7,
    )
    assert out == "handled at exit\n"


# -- fork ----------------------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_starts_empty_and_the_parent_keeps_its_events(tmp_path: Path) -> None:
    """Events queued before fork are handled once, by the parent; the child handles only its own."""
    out = run_script(
        """
        import os, sys
        from django_event_system import Dispatcher

        Dispatcher.RegisterHandler("fork::.*", lambda name: print(os.getpid() == PARENT, name, flush=True))
        PARENT = os.getpid()
        for _ in range(3):
            Dispatcher.Dispatch("fork::before")
        pid = os.fork()
        if pid == 0:
            Dispatcher.Dispatch("fork::child")
            Dispatcher.ClearQueue(timeout=10)
            sys.exit(0)  # the exit drain finds nothing of the parent's
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        Dispatcher.ClearQueue(timeout=10)
        """,
        tmp_path,
        timeout=30,
    )
    assert sorted(out.split("\n")[:-1]) == ["False fork::child", *["True fork::before"] * 3]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_child_forked_after_the_bridge_started_exits_without_hanging(tmp_path: Path) -> None:
    """The child has no bridge thread, so its exit drain does not wait for one; it starts its own."""
    out = run_script(
        """
        import asyncio, os, sys
        from django_event_system import Dispatcher

        seen = []
        Dispatcher.RegisterHandler("bridge::.*", lambda name: seen.append(name))

        async def main():
            Dispatcher.Dispatch("bridge::parent")
            Dispatcher.ClearQueue(timeout=10)

        asyncio.run(main())  # the bridge thread runs now
        pid = os.fork()
        if pid == 0:
            asyncio.run(main())  # a bridge of the child's own
            print("child", seen, flush=True)
            sys.exit(0)
        _, status = os.waitpid(pid, 0)
        print("parent", seen, os.waitstatus_to_exitcode(status), flush=True)
        """,
        tmp_path,
        timeout=30,
    )
    assert out.split("\n")[:-1] == ["child ['bridge::parent', 'bridge::parent']", "parent ['bridge::parent'] 0"]
