"""DVCLive through Lightning's logger: the training stages' per-epoch metrics in DVCLive's layout,
which ``dvc plots show`` draws (``dvc.yaml`` declares each stage's folder).

A folder holds ``plots/metrics/<name>.tsv`` per metric of the module's ``history`` (columns
``step`` and ``<name>``; one row per finished epoch, step = epochs finished: 1, 2, ...) and
``metrics.json`` (the last value of each, ``step``: the number of epochs, and what Lightning itself
logs to the logger after training: the test accuracy).  Per epoch, not per step: the history is
what a checkpoint carries, so it is what a resumed run can write exactly.

What a pipeline needs, beyond DVCLive's defaults (the same params give the same bytes; ``dvc.yaml``
declares every output; a stage reads only its declared dependencies):

* no wall-clock values: rows carry no ``timestamp`` column, and the history's wall-time keys
  (:data:`~nasa_lib.io.TIMING_KEYS`, the stages' timing files) are not logged;
* DVCLive writes its metrics and nothing else: no dvc.yaml, no ``dvc exp save``, no report, no
  images, no parameters file, nothing posted to DVC Studio, nothing printed, and it does not open
  the DVC repository (which would read ``.dvc/config`` and git's HEAD);
* resume: when a fit starts the folder is emptied, and after every epoch each record of the
  module's history not yet written is logged -- so a run resumed from ``last.ckpt`` (whose history
  holds the epochs before the interruption) writes those first and ends with the bytes of an
  uninterrupted run, whatever a killed process left;
* DDP: global rank 0 writes (Lightning's ``rank_zero_only``); the other ranks create nothing.

The modules log their validation metrics with ``logger=False`` (they reach the history through
``trainer.callback_metrics``), so the history is the only source of rows.
"""
from __future__ import annotations

from pathlib import Path

from dvclive import Live
from pytorch_lightning.callbacks import Checkpoint
from pytorch_lightning.loggers import Logger
from pytorch_lightning.loggers.logger import rank_zero_experiment
from pytorch_lightning.utilities import rank_zero_only

from ..io import TIMING_KEYS


class PipelineLive(Live):
    """DVCLive's :class:`~dvclive.Live` for a pipeline stage: a fresh folder (``resume=False``
    deletes what an earlier run left), metrics and summary only (see the module's docstring)."""

    def __init__(self, dir):  # noqa: A002  (DVCLive's name)
        super().__init__(dir=str(dir), resume=False, report=None, save_dvc_exp=False, dvcyaml=None,
                         monitor_system=False)

    def _init_dvc(self) -> None:
        # Live would open the DVC repository here to name and save an experiment; the pipeline's
        # dvc.yaml declares this folder instead (dvc exp run records it like any output).
        self._dvc_file = "dvc.yaml"     # never written: dvcyaml=None

    def _init_studio(self) -> None:
        self._studio_events_to_skip |= {"start", "data", "done"}

    def log_metric(self, name: str, val, timestamp: bool = False, plot: bool = True) -> None:
        super().log_metric(name, val, timestamp=False, plot=plot)      # never a wall-clock column

    def sync(self) -> None:
        self.make_summary()             # no dvc.yaml, no report, nothing posted


def _scalar(value):
    """A number DVCLive can log (a float, an int, a 0-d tensor or array), else None (phase names,
    architectures, lists)."""
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value


class HistoryLogger(Logger):
    """A Lightning logger writing to a :class:`PipelineLive` folder: one row per finished epoch
    from the module's history (:meth:`log_epoch`, called by :class:`EpochLog`); what Lightning
    logs by itself (``self.log`` with the logger on: the test accuracy after fit) goes to the
    summary only."""

    def __init__(self, dir):  # noqa: A002
        super().__init__()
        self.dir = Path(dir)
        self._live: PipelineLive | None = None

    @property
    def name(self) -> str:
        return "dvclive"

    @property
    def version(self) -> str:
        return ""

    @property
    @rank_zero_experiment
    def experiment(self) -> PipelineLive:
        if self._live is None:
            self._live = PipelineLive(self.dir)
        return self._live

    @rank_zero_only
    def start(self) -> None:
        """A fresh folder: what an earlier or interrupted run wrote is deleted."""
        self._live = PipelineLive(self.dir)

    @rank_zero_only
    def log_epoch(self, record: dict) -> None:
        """One history record: a row per numeric key (not ``epoch``, not a wall time), at step
        ``epoch + 1``, and the summary."""
        live = self.experiment
        live.step = int(record["epoch"]) + 1
        for key, value in record.items():
            value = _scalar(value)
            if key != "epoch" and key not in TIMING_KEYS and value is not None:
                live.log_metric(key, value)
        live.make_summary()

    @rank_zero_only
    def log_metrics(self, metrics, step=None) -> None:
        """Lightning's own calls: the last values, into the summary only (the rows are the history's)."""
        live = self.experiment
        for key, value in metrics.items():
            value = _scalar(value)
            if key != "epoch" and value is not None:
                live.log_metric(key, value, plot=False)
        live.make_summary()

    @rank_zero_only
    def log_hyperparams(self, params, *args, **kwargs) -> None:
        """Nothing: a stage's parameters are its sections of params.yaml, which dvc.yaml declares."""

    @rank_zero_only
    def finalize(self, status: str) -> None:
        if self._live is not None:
            self._live.end()


class EpochLog(Checkpoint):
    """Logs the module's ``history`` to a :class:`HistoryLogger`: every record not yet written,
    after each training epoch and at the end of fit (a run resumed after its last epoch trains
    none).  A ``Checkpoint`` subclass, like :class:`~nasa_lib.nas.runner.EpochCheckpoint`, so that
    Lightning calls it after the module's own ``on_train_epoch_end``, which records the epoch."""

    def __init__(self, live_logger: HistoryLogger):
        self.live_logger = live_logger
        self.written = 0

    def on_fit_start(self, trainer, module) -> None:
        self.written = 0
        self.live_logger.start()

    def _write_new(self, trainer, module) -> None:
        if not trainer.is_global_zero:
            return
        history = getattr(module, "history", [])
        for record in history[self.written:]:
            self.live_logger.log_epoch(record)
        self.written = len(history)

    def on_train_epoch_end(self, trainer, module) -> None:
        self._write_new(trainer, module)

    def on_fit_end(self, trainer, module) -> None:
        self._write_new(trainer, module)
