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
import os
import pickle
import signal
import tempfile
import traceback
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class ChildFailed(RuntimeError):
    """The forked child died without handing back a result (killed, out of memory)."""


def fork_available() -> bool:
    return hasattr(os, "fork")


def fork_map(work: Callable[[T], R], shares: Sequence[T]) -> list[R]:
    """[work(s) for s in shares], the first share in this process and each of the others
    in a forked child, all at once. Results come back in order. With one share, or where
    fork does not exist, everything runs here."""
    if len(shares) <= 1 or not fork_available():
        return [work(s) for s in shares]
    children: list[tuple[int, Any]] = []
    done: set[int] = set()
    try:
        for share in shares[1:]:
            # Opened before the fork: parent and child share the file, the child writes,
            # the parent reads after the child has exited (nothing else touches it).
            out = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below
            pid = os.fork()
            if pid == 0:  # pragma: no cover - runs in the child, which never returns
                _child(work, share, out)
            children.append((pid, out))
        results = [work(shares[0])]
        for pid, out in children:
            done.add(pid)
            results.append(_collect(pid, out))
        return results
    finally:
        for pid, out in children:
            if pid not in done:  # this process's share failed: the rest is moot
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)
            out.close()


def _child(work: Callable[[T], R], share: T, out: Any) -> None:  # pragma: no cover
    code = 0
    try:
        _detach_databases()
        try:
            payload: tuple[str, Any] = ("ok", work(share))
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
            payload = ("error", _picklable(exc))
            code = 1
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
