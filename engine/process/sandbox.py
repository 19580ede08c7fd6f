"""Methodologists' scripts and expressions run in separate worker processes with memory and CPU limits.

RestrictedPython stops the known escapes at compile time, and the line budget stops a Python loop; neither
stops a bomb that runs inside C (``"x" * 10**10``, ``sum(range(10**12))``, a huge format width). So every
script and expression runs in a small pool of worker processes (``python -m engine.process.sandbox``):

- each worker limits its own address space (``YORDAM_SCRIPT_MEMORY_MB`` above what it needs at start), its CPU
  time per job (``RLIMIT_CPU``), and may not write files;
- the parent waits at most ``WALL_LIMIT_SECONDS`` for an answer, then kills the worker and starts another;
- answers come back as pickles read by an unpickler that builds plain data only (numbers, text, lists, dicts,
  dates, decimals), so a worker that were ever subverted still could not make the parent run code.

The worker imports nothing of the database or SpiffWorkflow. A failed job raises the script's own error (same
class and message, with ``script_line`` set) or ``ScriptBudgetExceeded``.
"""
from __future__ import annotations

import builtins
import io
import os
import pickle
import queue
import select
import struct
import subprocess
import sys
import threading
import time

from .restricted import TIME_BUDGET_SECONDS, ScriptBudgetExceeded, ScriptCompileError

#: A job that has not answered after this long is killed, whatever it is doing (the worker's own line budget
#: usually stops a Python loop earlier, with a clearer message).
WALL_LIMIT_SECONDS = TIME_BUDGET_SECONDS + 0.3
MEMORY_MB = int(os.environ.get("YORDAM_SCRIPT_MEMORY_MB", "256"))
POOL_SIZE = max(1, int(os.environ.get("YORDAM_SCRIPT_WORKERS", "2")))
_START_TIMEOUT_SECONDS = 30.0
_HEADER = struct.Struct(">I")
_MAX_ANSWER_BYTES = 64 * 1024 * 1024


# --- the parent's side ----------------------------------------------------------------------------------------

def evaluate(source: str, names: dict):
    """Evaluate an expression over ``names`` in a worker; return its value."""
    return _pool().run(("eval", source, names))


def execute(source: str, context: dict, external: dict) -> dict:
    """Run a script over ``context`` in a worker; return the data it leaves behind."""
    return _pool().run(("exec", source, context, external))


class _Worker:
    def __init__(self):
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        # No secrets in the worker's environment (database URL, secret key): only what Python needs.
        env = {key: os.environ[key] for key in ("PATH", "LANG", "LC_ALL", "VIRTUAL_ENV") if key in os.environ}
        env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=root)
        self.process = subprocess.Popen([sys.executable, "-m", "engine.process.sandbox", str(MEMORY_MB)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=root,
                                        close_fds=True)
        if _read_frame(self.process.stdout, time.monotonic() + _START_TIMEOUT_SECONDS) != b"ready":
            self.kill()
            raise ScriptBudgetExceeded("the script sandbox did not start")

    def call(self, request: tuple) -> tuple:
        payload = pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL)
        self.process.stdin.write(_HEADER.pack(len(payload)) + payload)
        self.process.stdin.flush()
        return _loads_plain(_read_frame(self.process.stdout, time.monotonic() + WALL_LIMIT_SECONDS))

    def kill(self) -> None:
        try:
            self.process.kill()
            self.process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass


class _WorkerLost(Exception):
    def __init__(self, timed_out: bool):
        self.timed_out = timed_out


class _Pool:
    """At most ``size`` workers; a thread borrows an idle one (or starts one) for a single job."""

    def __init__(self, size: int):
        self._slots = threading.BoundedSemaphore(size)
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()

    def run(self, request: tuple):
        with self._slots:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                worker = _Worker()
            try:
                reply = worker.call(request)
            except _WorkerLost as lost:
                worker.kill()
                if lost.timed_out:
                    raise ScriptBudgetExceeded(f"the script ran too long (stopped after {WALL_LIMIT_SECONDS:g} s)")
                raise ScriptBudgetExceeded(f"the script used too much memory or CPU time (more than {MEMORY_MB} MB "
                                           f"or {WALL_LIMIT_SECONDS:g} s) and was stopped")
            except BaseException:
                worker.kill()
                raise
            self._idle.put(worker)
        return _outcome(reply)

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().kill()
            except queue.Empty:
                return


_the_pool: _Pool | None = None
_pool_lock = threading.Lock()


def _pool() -> _Pool:
    global _the_pool
    with _pool_lock:
        if _the_pool is None:
            _the_pool = _Pool(POOL_SIZE)
            import atexit
            atexit.register(_the_pool.close)
        return _the_pool


def _outcome(reply: tuple):
    if reply[0] == "ok":
        return reply[1]
    _, class_name, message, name, line = reply
    err = _rebuild_error(class_name, message, name)
    err.script_line = line
    raise err


def _rebuild_error(class_name: str, message: str, name: str | None) -> Exception:
    """The script's error as the parent knows it: same builtin class and message, so hints keep working."""
    if class_name == "ScriptBudgetExceeded":
        return ScriptBudgetExceeded(message)
    if class_name == "ScriptCompileError":
        return ScriptCompileError(message)
    cls = getattr(builtins, class_name, None)
    if isinstance(cls, type) and issubclass(cls, Exception) and not issubclass(cls, OSError):
        if cls is NameError or cls is AttributeError:
            return cls(message, name=name)
        try:
            return cls(message)
        except Exception:  # a builtin with a stricter constructor (UnicodeError family)
            pass
    return RuntimeError(f"{class_name}: {message}")


def _read_frame(stream, deadline: float) -> bytes:
    fd = stream.fileno()
    size = _HEADER.unpack(_read_exactly(fd, _HEADER.size, deadline))[0]
    if size > _MAX_ANSWER_BYTES:
        raise _WorkerLost(timed_out=False)
    return _read_exactly(fd, size, deadline)


def _read_exactly(fd: int, size: int, deadline: float) -> bytes:
    chunks, left = [], size
    while left:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            raise _WorkerLost(timed_out=True)
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise _WorkerLost(timed_out=False)
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


class _PlainUnpickler(pickle.Unpickler):
    """Builds plain data only; any other class in an answer is refused."""

    ALLOWED = {("datetime", "date"), ("datetime", "datetime"), ("datetime", "time"), ("datetime", "timedelta"),
               ("datetime", "timezone"), ("decimal", "Decimal"), ("builtins", "set"), ("builtins", "frozenset"),
               ("builtins", "complex"), ("builtins", "bytearray"), ("collections", "OrderedDict"),
               ("zoneinfo", "ZoneInfo"), ("zoneinfo._zoneinfo", "ZoneInfo"), ("copyreg", "_reconstructor"),
               ("builtins", "object")}

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"a script left a value of type {module}.{name}, which cannot be stored")


def _loads_plain(payload: bytes):
    try:
        return _PlainUnpickler(io.BytesIO(payload)).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as err:
        return ("error", "TypeError", str(err), None, None)


# --- the worker's side ----------------------------------------------------------------------------------------

def _limit_self(memory_mb: int) -> None:
    import resource
    try:
        with open("/proc/self/statm") as statm:
            start = int(statm.read().split()[0]) * resource.getpagesize()
    except OSError:
        start = 0
    if start:
        resource.setrlimit(resource.RLIMIT_AS, (start + memory_mb * 1024 * 1024, resource.RLIM_INFINITY))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _cpu_limit_for_next_job() -> None:
    """RLIMIT_CPU counts the whole life of the process: move its soft limit to a few seconds past now."""
    import resource
    used = resource.getrusage(resource.RUSAGE_SELF)
    spent = int(used.ru_utime + used.ru_stime) + 1
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    soft = spent + int(WALL_LIMIT_SECONDS) + 1
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _answer(request: tuple) -> tuple:
    from . import restricted
    try:
        if request[0] == "eval":
            value = restricted.evaluate(request[1], request[2])
        else:
            value = restricted.execute(request[1], request[2], request[3])
        return ("ok", value)
    except MemoryError as err:
        return ("error", "ScriptBudgetExceeded",
                f"the script used too much memory (more than {MEMORY_MB} MB) and was stopped", None,
                restricted.script_line(err))
    except RecursionError as err:
        return ("error", "ScriptBudgetExceeded", f"the script recursed too deeply ({err})", None,
                restricted.script_line(err))
    except Exception as err:
        return ("error", type(err).__name__, str(err.args[0]) if len(err.args) == 1 else str(err),
                getattr(err, "name", None) if isinstance(err, (NameError, AttributeError)) else None,
                restricted.script_line(err))


def _serve(memory_mb: int) -> None:
    from . import restricted  # noqa: F401 -- imported before the limits, so they cover the scripts only
    channel_in = os.fdopen(os.dup(0), "rb", buffering=0)
    channel_out = os.fdopen(os.dup(1), "wb", buffering=0)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # nothing a script does can write into the answer channel
    _limit_self(memory_mb)

    def send(data: bytes) -> None:
        channel_out.write(_HEADER.pack(len(data)) + data)

    send(b"ready")
    while True:
        header = channel_in.read(_HEADER.size)
        if len(header) < _HEADER.size:
            return  # the parent is gone
        size = _HEADER.unpack(header)[0]
        request = pickle.loads(_read_all(channel_in, size))
        _cpu_limit_for_next_job()
        reply = _answer(request)
        try:
            data = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as err:  # a value that cannot travel (a generator, a module...)
            data = pickle.dumps(("error", "TypeError", f"a script left a value that cannot be stored: {err}",
                                 None, None))
        del reply, request
        send(data)


def _read_all(stream, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise SystemExit(0)
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


if __name__ == "__main__":
    _serve(int(sys.argv[1]) if len(sys.argv) > 1 else MEMORY_MB)
