"""fork_map: shares run side by side in forked children, results come back in order,
failures come back as exceptions, and a child never uses the parent's database session."""

from __future__ import annotations

import os

import pytest
from django.db import connection

from common.forking import ChildFailed, Stream, fork_map


def _square_with_pid(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


def test_results_come_back_in_order_from_other_processes() -> None:
    results = fork_map(_square_with_pid, [1, 2, 3])

    assert [r for r, _ in results] == [1, 4, 9]
    pids = [pid for _, pid in results]
    assert pids[0] == os.getpid()  # the first share runs here
    assert len(set(pids)) == 3


def test_one_share_runs_here_without_forking() -> None:
    assert fork_map(_square_with_pid, [5]) == [(25, os.getpid())]


def _fails_on_two(x: int) -> int:
    if x == 2:
        raise ValueError("第2份数据有误")
    return x


def test_a_childs_exception_is_raised_in_the_parent() -> None:
    with pytest.raises(ValueError, match="第2份数据有误"):
        fork_map(_fails_on_two, [1, 2])


def _dies_on_two(x: int) -> int:
    if x == 2:
        os._exit(9)  # as if killed: no result is handed back
    return x


def test_a_child_that_dies_is_reported() -> None:
    with pytest.raises(ChildFailed, match="ended with 9"):
        fork_map(_dies_on_two, [1, 2])


@pytest.mark.django_db
def test_the_child_leaves_the_parents_session_alone() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (backend,) = cursor.fetchone()

    def session_seen(_: int) -> bool:
        return connection.connection is None  # forgotten in the child, open here

    assert fork_map(session_seen, [0, 1]) == [False, True]
    with connection.cursor() as cursor:  # the parent's session is still the same one
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone() == (backend,)


def test_a_stream_carries_a_childs_messages_while_it_works() -> None:
    stream = Stream()

    def work(share: int) -> list[object]:
        if share == 0:  # the parent: reads until the child is done
            return list(stream)
        for i in range(3):
            stream.send(("piece", i, "x" * 200_000))  # more than a pipe holds at once
        return []

    got, _ = fork_map(work, [0, 1], stream=stream)

    assert [(kind, i, len(text)) for kind, i, text in got] == [  # type: ignore[has-type,misc]
        ("piece", 0, 200_000),
        ("piece", 1, 200_000),
        ("piece", 2, 200_000),
    ]


def test_a_share_whose_fork_fails_runs_here(monkeypatch: pytest.MonkeyPatch) -> None:
    import common.forking as forking

    def no_fork() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(forking.os, "fork", no_fork)
    stream = Stream()

    def work(share: int) -> tuple[int, int, list[object]]:
        if share == 0:
            return share, os.getpid(), list(stream)  # ends: nobody else is writing
        stream.send("lost")  # nobody to tell: the share runs in the parent
        return share * 10, os.getpid(), []

    results = fork_map(work, [0, 1, 2], stream=stream)

    assert results == [(0, os.getpid(), []), (10, os.getpid(), []), (20, os.getpid(), [])]
