"""Test helper shared by the resume tests (not a test module)."""
import pytorch_lightning as pl


class InterruptDuringEpoch(pl.Callback):
    """Ctrl-C in the middle of epoch ``epoch`` (0-based), after its second batch."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        if trainer.current_epoch == self.epoch and batch_idx == 1:
            raise KeyboardInterrupt
