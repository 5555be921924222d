"""Run the halves of a CPU-bound job in two processes, sharing the input by fork.

The import's dry run holds a whole workbook as Python lists and then spends seconds of
pure Python per row (conversion, validation, identity keys, COPY text). One process uses
one core; the machines this runs on have two or more. A forked child sees the rows the
parent already read without copying or pickling them, works on its share, and hands back
only its (much smaller) result through a temporary file.

The child is a strict calculator: it must not touch the database, the cache or any
socket it inherited (its Django connection is the parent's session: closing it would
end the parent's transaction), and it leaves with os._exit so that no atexit handler,
finaliser or test-runner hook of the parent runs twice. What it raises is pickled back
and raised again in the parent.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import queue
import signal
import tempfile
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

logger = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")


class ChildFailed(RuntimeError):
    """The forked child died without handing back a result (killed, out of memory)."""


def fork_available() -> bool:
    return hasattr(os, "fork")


class Stream:
    """Messages from the forked children to the parent while they are still working (the
    import's child sends its identity keys as it goes, so the parent can check them
    against the index before the child is done).

    Give it to fork_map. A child calls send(); the parent iterates over the stream from
    its own share, which yields each message as it arrives and ends once every child
    has finished. A reader thread empties the pipe all along, so a child never waits for
    the parent, whatever the parent is doing.
    """

    _END = object()

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        self._out: Any = None
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._owner = os.getpid()

    def send(self, message: object) -> None:
        """From a child: hand `message` (picklable) to the parent. In the parent itself (a
        share run here because fork failed) there is nobody to tell: nothing is sent."""
        if os.getpid() == self._owner:
            return
        if self._out is None:
            self._out = os.fdopen(self._write, "wb")
        pickle.dump(message, self._out, protocol=pickle.HIGHEST_PROTOCOL)
        self._out.flush()

    def __iter__(self) -> Iterator[Any]:
        """In the parent: the children's messages in order, until they are all done."""
        while (message := self._queue.get()) is not self._END:
            yield message

    def _in_child(self) -> None:  # pragma: no cover - runs in the child
        os.close(self._read)

    def _child_done(self) -> None:  # pragma: no cover - runs in the child
        if self._out is not None:
            self._out.close()
        else:
            os.close(self._write)

    def _in_parent(self) -> None:
        os.close(self._write)  # or the pipe would never end
        source = os.fdopen(self._read, "rb")

        def read() -> None:
            with source:
                while True:
                    try:
                        self._queue.put(pickle.load(source))  # noqa: S301 - our child's
                    except (EOFError, pickle.UnpicklingError, OSError):
                        break
            self._queue.put(self._END)

        threading.Thread(target=read, name="fork-stream", daemon=True).start()


def fork_map(
    work: Callable[[T], R], shares: Sequence[T], *, stream: Stream | None = None
) -> list[R]:
    """[work(s) for s in shares], the first share in this process and each of the others
    in a forked child, all at once. Results come back in order. With one share, where
    fork does not exist, or for a share whose fork fails, the work runs here, one share
    after the other; `stream` then carries nothing from it (iterating it ends at once)."""
    if len(shares) <= 1 or not fork_available():
        if stream is not None:
            stream._in_parent()
        return [work(s) for s in shares]
    children: list[tuple[int, Any, int]] = []  # pid, result file, share index
    done: set[int] = set()
    try:
        local: list[int] = []  # shares that could not get a process of their own
        for index in range(1, len(shares)):
            # Opened before the fork: parent and child share the file, the child writes,
            # the parent reads after the child has exited (nothing else touches it).
            out = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below
            try:
                pid = os.fork()
            except OSError as exc:  # no process to be had (EAGAIN, ENOMEM): slower, not lost
                logger.warning("fork failed (%s): running share %d in this process", exc, index)
                out.close()
                local.append(index)
                continue
            if pid == 0:  # pragma: no cover - runs in the child, which never returns
                _child(work, shares[index], out, stream)
            children.append((pid, out, index))
        if stream is not None:
            stream._in_parent()
        results: dict[int, R] = {0: work(shares[0])}
        for pid, out, index in children:
            done.add(pid)
            results[index] = _collect(pid, out)
        for index in local:
            results[index] = work(shares[index])
        return [results[i] for i in range(len(shares))]
    finally:
        for pid, out, _ in children:
            if pid not in done:  # this process's share failed: the rest is moot
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)
            out.close()


def _child(  # pragma: no cover - runs in the child
    work: Callable[[T], R], share: T, out: Any, stream: Stream | None
) -> None:
    code = 0
    try:
        _detach_databases()
        if stream is not None:
            stream._in_child()
        try:
            payload: tuple[str, Any] = ("ok", work(share))
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
            payload = ("error", _picklable(exc))
            code = 1
        if stream is not None:
            stream._child_done()
        pickle.dump(payload, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()
    except BaseException:  # noqa: BLE001 - even a failed hand-over must not return
        code = 2
    finally:
        os._exit(code)


def _detach_databases() -> None:  # pragma: no cover - runs in the child
    """Forget the parent's database sessions without closing them (closing would end them
    for the parent too): should the work query after all, it opens a session of its own
    instead of writing into the parent's socket."""
    from django.conf import settings

    if not settings.configured:
        return
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        conn.connection = None


def _picklable(exc: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(exc))  # noqa: S301 - our own bytes, just made
    except Exception:  # noqa: BLE001 - some exceptions cannot travel; their text can
        return RuntimeError("".join(traceback.format_exception(exc)))
    return exc


def _collect(pid: int, out: Any) -> Any:
    """Wait for the child, then its result (or its exception, raised here)."""
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    out.seek(0)
    try:
        kind, value = pickle.load(out)  # noqa: S301 - written by our own child
    except (EOFError, pickle.UnpicklingError) as exc:
        raise ChildFailed(f"worker process {pid} ended with {code} and no result") from exc
    if kind == "error":
        raise value
    return value
