"""The Dask client shared by ``iclcheck sweep`` (``numerics.sweep.run_sweep``) and ``iclcheck verify --jobs``
(``proofs.report.run_claims``): a fresh LocalCluster of worker processes, or a running scheduler.

Importing this module imports nothing from Dask: ``distributed`` is imported when a client is made."""

from __future__ import annotations

from typing import Any

from iclcheck.theory.errors import InputError, import_optional

__all__ = ["MAX_JOBS", "check_jobs", "dask_client"]

MAX_JOBS = 256  # local worker processes


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def check_jobs(jobs: Any) -> int:
    """``jobs`` if it is a number of local processes iclcheck runs (an int in [1, MAX_JOBS]), else InputError."""
    if not (_is_int(jobs) and 1 <= jobs <= MAX_JOBS):
        raise InputError("jobs", f"must be an integer in [1, {MAX_JOBS}], got {jobs!r}")
    return int(jobs)


class dask_client:  # noqa: N801 (a context manager used like a function)
    """``with dask_client(jobs, scheduler) as client``: a distributed Client on a fresh LocalCluster of ``jobs``
    worker processes with 1 thread each (Dask sets OMP/MKL/OPENBLAS_NUM_THREADS=1 in them; its profiler off, glibc's
    malloc left to its defaults), or on the running
    scheduler at ``scheduler``; both closed on exit. The caller's ``__main__`` must be import-safe (worker
    processes are spawned)."""

    def __init__(self, jobs: int, scheduler: str | None):
        import logging

        distributed = import_optional("distributed", extra="sweep", feature="running on a Dask cluster")
        Client, LocalCluster = distributed.Client, distributed.LocalCluster

        self.cluster = None
        if scheduler is None:
            check_jobs(jobs)
        if scheduler is not None:
            try:
                self.client = Client(scheduler, timeout="10s")
            except (OSError, TimeoutError, ValueError, TypeError) as exc:
                raise InputError("scheduler", f"cannot connect to {scheduler!r}: {exc}") from None
        else:
            dask = import_optional("dask", extra="sweep", feature="running on a Dask cluster")

            # the workers' own logs stay off stderr (CRITICAL only): a task's failure comes back through its future,
            # while a worker's ERROR lines were shutdown races (a heartbeat to a scheduler that had just closed:
            # "Failed to communicate with scheduler", with a StreamClosedError traceback).
            # No statistical profiler in the workers: it samples every thread's stack every 10 ms for a dashboard
            # nobody reads (measured: 10-15% of a busy worker's CPU on this 2-core machine under load)
            # No MALLOC_TRIM_THRESHOLD_ in the workers (Dask sets 65536 there by default): setting it at all turns off
            # glibc's dynamic mmap threshold, so every numpy temporary above 128 KiB is a fresh mmap, page-faulted in
            # and unmapped again. Measured (ahn2023.thm3 quick, load ~4.5): 2.2-2.6 s in process, 3.4-4.6 s in a
            # default worker, 2.4-2.6 s in a worker without it. The worker inherits this process's value, if any.
            with dask.config.set({"distributed.worker.profile.enabled": False,
                                  "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
                self.cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                                            dashboard_address=":0", silence_logs=logging.CRITICAL)
            self.client = Client(self.cluster)

    def __enter__(self):
        return self.client

    def __exit__(self, *exc: Any) -> None:
        # Closing races the workers' own shutdown: distributed may log a CommClosedError (with its traceback) for a
        # connection the other side closed first. The results are in by then: those logs are kept off stderr.
        import logging

        quiet = [logging.getLogger(n) for n in ("distributed", "tornado", "asyncio")]
        levels = [lg.level for lg in quiet]
        for lg in quiet:
            lg.setLevel(logging.CRITICAL)
        try:
            self.client.close()
            if self.cluster is not None:
                self.cluster.close()
        except (OSError, TimeoutError, RuntimeError) as err:  # a shutdown failure after the work is not the run's
            if not exc or exc[0] is None:
                import warnings

                warnings.warn(f"the Dask cluster did not shut down cleanly: {type(err).__name__}: {err}",
                              RuntimeWarning, stacklevel=2)
        finally:
            for lg, lv in zip(quiet, levels, strict=True):
                lg.setLevel(lv)
