"""The package's one jit decorator, the backend switch, and the threading policy.

Backend
-------
The compiled kernels need numba.  ``FASTINIT_BACKEND=numpy`` (or ``NUMBA_DISABLE_JIT=1``, or numba
missing) selects the pure-NumPy twin instead; both produce the same bits.

Threading policy (why it looks like this)
-----------------------------------------
numba's default threading layer on many Linux machines is GNU OpenMP, and a process that has run a
GNU OpenMP parallel region cannot safely ``fork()``: the child is aborted.  The ``workqueue`` layer
survives ``fork()`` but aborts when two Python threads launch parallel kernels at the same time.
fastinit therefore:

1. selects numba's ``workqueue`` layer, unless the user has chosen a layer with the
   ``NUMBA_THREADING_LAYER`` environment variable (then that choice stands);
2. lets only one Python thread at a time run a parallel kernel: :func:`launch` takes a process-wide
   lock *without waiting*; a thread that finds it taken runs the serial twin of the kernel instead.
   Since every fill is thread-count independent, the bits are the same either way, and nobody blocks.
   The fills have no parallel twin at all: :func:`launch_parts` runs one serial, GIL-free kernel
   on several Python threads at once, each over its own segments, under the same lock (numba's
   ``parallel=True`` compilation of a kernel costs several times its serial one: see
   docs/performance.md);
3. re-creates that lock in a forked child (``os.register_at_fork``), so a child forked while
   another thread held it is not stuck on it, and forgets :func:`launch_parts`' worker threads,
   which the child does not have;
4. holds numba's compiler lock across ``fork()``: a fork waits until no other thread is compiling
   (or loading from the cache) a kernel. Without this, a child forked while another thread compiled
   inherits the lock held by a thread it does not have, and its first kernel call hangs forever;
5. reads numba's thread count without numba's process-wide init lock once the threading layer is
   up (see :func:`num_threads`), for the same reason; the one call that starts the thread pool runs
   under a lock that ``fork()`` also waits for;
6. imports ``numpy.ma`` when it is imported: numba's typing of every array argument reads
   ``np.ma``, which numpy imports lazily, under an import lock, on first use. A child forked while
   another thread held that import lock hung on its first fill. ``concurrent.futures.thread``
   (the worker threads of :func:`launch_parts`) is imported then too, for the same reason.

Forking while threads run code other than fastinit's stays CPython's general hazard.

Where compiled kernels are kept
-------------------------------
numba's ``cache=True`` writes its ``.nbi``/``.nbc`` files into the ``__pycache__`` beside the source.
For an installed package that is ``site-packages/fastinit/__pycache__``, which ``pip uninstall`` does
not know about: the directory survives, and a later editable install is shadowed by it as a namespace
package.  fastinit's kernels are therefore cached, in this order of preference,

1. under ``NUMBA_CACHE_DIR`` when the user has set it (numba's own rule);
2. in a per-user cache directory, ``$XDG_CACHE_HOME/fastinit`` (``~/.cache/fastinit`` on Linux, the
   platform's user cache directory elsewhere), one subdirectory per installed copy of the package;
3. where numba would have put them (``__pycache__``, then numba's user-wide directory) when that
   directory cannot be written.

Only fastinit's own kernels are affected: numba's configuration is not changed.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

#: Fills with fewer elements than this run the serial kernel: starting the thread pool costs more
#: than it saves below roughly this size (measured: see docs/performance.md).
PARALLEL_THRESHOLD = 1 << 15


def _numba_usable() -> bool:
    if os.environ.get("FASTINIT_BACKEND", "numba").strip().lower() == "numpy":
        return False
    if os.environ.get("NUMBA_DISABLE_JIT", "0").strip() not in ("", "0"):
        return False
    try:
        import numba  # noqa: F401
    except ImportError:  # pragma: no cover - numba is a hard dependency
        return False
    return True


#: ``"numba"`` when the compiled kernels run, ``"numpy"`` when the NumPy twin does.
BACKEND = "numba" if _numba_usable() else "numpy"

if BACKEND == "numba":
    import numba

    if "NUMBA_THREADING_LAYER" not in os.environ:
        numba.config.THREADING_LAYER = "workqueue"

    prange = numba.prange

    from numba.core import caching as _caching

    def _numba_locator(*names: str) -> type:
        # numba 0.59-0.6x name the locators with a leading underscore; later versions without
        for name in names:
            if hasattr(_caching, name):
                return getattr(_caching, name)
        raise ImportError(f"numba.core.caching has none of {names}")  # pragma: no cover

    _UserProvided = _numba_locator("UserProvidedCacheLocator", "_UserProvidedCacheLocator")
    _InTree = _numba_locator("InTreeCacheLocator", "_InTreeCacheLocator")
    _UserWide = _numba_locator("UserWideCacheLocator", "_UserWideCacheLocator")

    def cache_dir() -> str:
        """The per-user directory of fastinit's compiled kernels (unless ``NUMBA_CACHE_DIR`` is set)."""
        from numba.misc.appdirs import AppDirs

        return AppDirs(appname="fastinit", appauthor=False).user_cache_dir

    class _FastinitCacheLocator(_UserWide):  # type: ignore[misc, valid-type]
        """numba's user-wide locator, rooted in :func:`cache_dir` instead of numba's directory."""

        def __init__(self, py_func: Callable, py_file: str) -> None:
            super().__init__(py_func, py_file)
            self._cache_path = os.path.join(cache_dir(), self.get_suitable_cache_subpath(py_file))

    class _CacheImpl(_caching.CompileResultCacheImpl):  # type: ignore[misc, valid-type]
        _locator_classes = [_UserProvided, _FastinitCacheLocator, _InTree, _UserWide]

    class _FunctionCache(_caching.FunctionCache):  # type: ignore[misc, valid-type]
        _impl_class = _CacheImpl

    def _cached(dispatcher: Any) -> Any:
        # Dispatcher.enable_caching() with fastinit's locators; a source with no usable locator
        # (nowhere writable) is compiled each time, as it would be without cache=True
        try:
            dispatcher._cache = _FunctionCache(dispatcher.py_func)
        except RuntimeError:  # pragma: no cover - no writable directory at all
            pass
        return dispatcher

    def jit(*, parallel: bool = False, inline: bool = False) -> Callable[[Callable], Any]:
        """Compile a function with the package's one set of numba options.

        Compiled code is kept on disk (like ``cache=True``, but see "Where compiled kernels are
        kept" in this module's docstring), ``error_model="numpy"`` (no Python
        exceptions from division, so loops vectorize), no fast-math (so floating-point results
        are the IEEE ones, in source order, on every CPU) and lazy compilation (nothing is
        compiled until the first call with a given dtype).
        """
        options: dict[str, Any] = {"error_model": "numpy", "nogil": True}
        if parallel:
            options["parallel"] = True
        if inline:
            options["inline"] = "always"
        compile = numba.njit(**options)
        return lambda fn: _cached(compile(fn))

else:
    prange = range

    def jit(*, parallel: bool = False, inline: bool = False) -> Callable[[Callable], Any]:
        """Without numba the decorated function stays plain Python (it is never called)."""
        return lambda fn: fn

    def cache_dir() -> str:
        """Where compiled kernels would be kept (nothing is compiled on the NumPy backend)."""
        return os.path.join(os.path.expanduser("~"), ".cache", "fastinit")


_launch_lock = threading.Lock()
#: Held while a thread starts numba's thread pool (see :func:`num_threads`) and across ``fork()``.
_pool_start_lock = threading.Lock()


#: The worker threads of :func:`launch_parts` (started on the first large fill; none in a child
#: forked since, whose copy of this pool has no threads).
_workers: Any = None


def _reset_lock_in_child() -> None:  # pragma: no cover - runs in forked children
    global _launch_lock, _workers
    _launch_lock = threading.Lock()
    _workers = None


if BACKEND == "numba":
    # numba's typeof() of every ndarray argument reads ``np.ma.MaskedArray``; numpy imports
    # ``numpy.ma`` lazily on that first read (numpy's module ``__getattr__``), holding CPython's
    # per-module import locks of numpy.ma, numpy.ma.core and numpy.ma.extras while it runs. A child
    # forked while another thread made the process's first kernel call inherited those locks held by
    # a thread it does not have, and its own first kernel call waited for them forever. Importing it
    # here, once, in the thread that imports fastinit, means no kernel call ever imports it.
    # For the same reason, the worker threads' module (which large fills would otherwise import,
    # under its import lock, the first time one runs: a child forked meanwhile hung on that lock).
    from concurrent.futures import ThreadPoolExecutor

    import numpy.ma  # noqa: F401

if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_lock_in_child)
    if BACKEND == "numba":
        from numba.core.compiler_lock import global_compiler_lock as _compiler_lock

        # fork() waits until no other thread is compiling or loading a kernel (numba's compiler
        # lock) nor starting numba's thread pool (``_pool_start_lock``), so the child inherits
        # neither held, nor any import lock those regions hold while they import. The order,
        # compiler lock first, is numba's own (it starts the pool while compiling parallel code,
        # never compiles while starting it), so this cannot deadlock the parent.
        def _before_fork() -> None:
            _compiler_lock.acquire()
            _pool_start_lock.acquire()

        def _after_fork() -> None:
            _pool_start_lock.release()
            _compiler_lock.release()

        os.register_at_fork(before=_before_fork, after_in_parent=_after_fork, after_in_child=_after_fork)


def num_threads() -> int:
    """Number of threads a parallel kernel uses (numba's setting; 1 for the NumPy backend)."""
    if BACKEND != "numba":
        return 1
    # numba.get_num_threads() takes numba's process-wide init lock (a multiprocessing lock) on every
    # call; a child forked while another thread held it waited for it forever. Once the threading
    # layer is up, ask it directly: the same thread-local count, no lock.
    from numba.np.ufunc import parallel

    direct = getattr(parallel, "_get_num_threads", None) if getattr(parallel, "_is_initialized", False) else None
    n = int(direct()) if callable(direct) else 0
    if n > 0:
        return n
    # The first call starts numba's thread pool: numba imports multiprocessing (and its
    # synchronize module) and the threading layer under its own init locks. Doing that under
    # _pool_start_lock, which fork() waits for, keeps a child forked meanwhile from inheriting
    # those locks (and import locks) held by this thread, on which its own first fill would hang.
    with _pool_start_lock:
        return int(numba.get_num_threads())


def launch(parallel_kernel: Callable, serial_kernel: Callable, size: int, *args: Any) -> None:
    """Run ``parallel_kernel(*args)`` if it is worth it and safe now, else ``serial_kernel(*args)``.

    The parallel kernel runs only when ``size`` reaches :data:`PARALLEL_THRESHOLD`, numba has more
    than one thread, and no other Python thread is running a parallel kernel at this moment.
    """
    lock = _launch_lock
    if size >= PARALLEL_THRESHOLD and num_threads() > 1 and lock.acquire(blocking=False):
        try:
            parallel_kernel(*args)
        finally:
            lock.release()
    else:
        serial_kernel(*args)


def _parts(seg_n: Any, k: int) -> list[tuple[int, int]]:
    """Cut the segments (of ``seg_n`` elements each) into at most ``k`` contiguous runs of about
    equal element counts.
    """
    import numpy as np

    ends = np.cumsum(seg_n)
    cuts = np.searchsorted(ends, ends[-1] * np.arange(1, k) / k, side="right").tolist()
    bounds = [0, *cuts, len(seg_n)]
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


#: The kernels :func:`launch_parts` has run (so compiled) in this process.
_warm: set = set()
#: A large fill is cut into up to this many parts per thread, handed out one at a time: a thread
#: that starts late (woken late on a busy machine) or runs slowly takes fewer of them.
PARTS_PER_THREAD = 4
#: ... each of at least this many segments (a segment is at most ``_layout.CHUNK`` elements), so
#: that the Python between two parts (about a microsecond) stays negligible.
MIN_PART_SEGMENTS = 2


def launch_parts(kernel: Callable, size: int, out: Any, seg: Any, *args: Any) -> None:
    """Run ``kernel(out, seg, *args)``, a serial ``nogil`` kernel over the segments ``seg`` (one
    ``(g, o, n)`` per row).

    Fills of :data:`PARALLEL_THRESHOLD` elements or more, with more than one segment, cut the rows
    into contiguous parts of about equal size, which this thread and :func:`num_threads` ``- 1``
    worker threads take one at a time, each calling the same kernel on its part (the GIL is
    released inside it).  One kernel thus serves both cases, and no ``parallel=True`` variant is
    compiled.  As with :func:`launch`, only one Python thread at a time splits its fill; another
    that comes meanwhile runs its kernel alone.  Every part writes disjoint elements, so the bits do
    not depend on the split, and the call returns only when all parts are done (Ctrl-C included).
    """
    global _workers
    lock = _launch_lock
    if (size < PARALLEL_THRESHOLD or len(seg) < 2 or num_threads() < 2
            or not lock.acquire(blocking=False)):
        kernel(out, seg, *args)
        return
    try:
        threads = num_threads()
        k = max(threads, min(PARTS_PER_THREAD * threads, len(seg) // MIN_PART_SEGMENTS))
        bounds = _parts(seg[:, 2], k)
        if kernel not in _warm:
            # The first call compiles, in Python code where Ctrl-C can land: made here, alone,
            # before any worker starts, so an interrupted compile leaves out untouched and no two
            # threads compile the same kernel.
            a, b = bounds.pop(0)
            kernel(out, seg[a:b], *args)
            _warm.add(kernel)
        parts = iter(bounds)  # one shared iterator: next() hands each part out once (under the GIL)
        busy = [0]  # worker threads inside work(); only they change it, and signals never stop them
        counting = threading.Condition()
        errors: list[BaseException] = []

        def run() -> None:
            for a, b in parts:  # a part taken is computed: nothing between next() and the kernel
                try:  # call checks for signals, and the kernel call is one uninterruptible call
                    kernel(out, seg[a:b], *args)
                except BaseException as e:  # noqa: BLE001 - re-raised by the launching thread
                    errors.append(e)

        def work() -> None:  # in a worker thread
            with counting:
                busy[0] += 1  # before taking a part: the launching thread waits for this one
            try:
                run()
            finally:
                with counting:
                    busy[0] -= 1
                    counting.notify_all()

        interrupt: BaseException | None = None
        try:
            if _workers is None:
                _workers = ThreadPoolExecutor(max_workers=max(1, numba.config.NUMBA_NUM_THREADS - 1),
                                              thread_name_prefix="fastinit-fill")
            for _ in range(threads - 1):
                _workers.submit(work)
        except RuntimeError:  # the interpreter is exiting (the pool takes no work): this thread does it
            pass
        except BaseException as e:  # noqa: BLE001 - Ctrl-C: the parts already taken are written on
            interrupt = e
        while True:  # take parts until none is left, then wait for the workers' last ones: a worker
            try:  # that comes later finds no part left, so out is complete when this returns
                run()
                with counting:
                    while busy[0]:
                        counting.wait()
                break
            except BaseException as e:  # noqa: BLE001 - Ctrl-C: out must not be left half-written
                interrupt = e
        if errors:
            raise errors[0]
        if interrupt is not None:
            raise interrupt
    finally:
        lock.release()
