"""Run by tests/test_ddp.py: a few search steps of the tiny profile's network under Lightning's
DDP strategy, two CPU processes on the gloo backend.  After every step, each rank gathers every
rank's architecture parameters; rank 0 writes what it saw to the JSON file given as argument."""
import json
import sys

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback
from pytorch_lightning.utilities import CombinedLoader

from nasa_lib.data import build_datamodule
from nasa_lib.nas import SearchModule
from nasa_lib.space import FBNetLayout


class AlphaAgreement(Callback):
    def __init__(self):
        self.steps = []

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        flat = torch.cat([a.detach().flatten() for a in module.alphas])
        gathered = trainer.strategy.all_gather(flat)  # [world_size, n]
        self.steps.append({"step": trainer.global_step, "max_abs_diff": float((gathered - gathered[0]).abs().max()),
                           "changed": float((flat - module.initial_alpha).abs().max())})


def main(out_path: str) -> None:
    torch.set_num_threads(1)
    pl.seed_everything(0, verbose=False)
    dm = build_datamodule("synthetic", n_train=160, n_test=16, channels=1, image_size=8, num_classes=3,
                          batch_size=8, augment="crop_flip")
    dm.setup()
    layout = FBNetLayout(width_mult=0.25, depth_mult=0.25, in_channels=1, input_size=8, num_classes=3)
    module = SearchModule("Hybrid-All", layout.to_dict(), epochs=1, mode="hard", act_num=2, arch_lr=0.05,
                          cost_band=None, hw_weight=1e-6, adder_free_ends=1)
    module.initial_alpha = torch.cat([a.detach().flatten() for a in module.alphas]).clone()
    check = AlphaAgreement()
    trainer = pl.Trainer(accelerator="cpu", devices=2, strategy="ddp_find_unused_parameters_true", max_epochs=1,
                         limit_train_batches=3, limit_val_batches=0, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, callbacks=[check])
    trainer.fit(module, train_dataloaders=CombinedLoader(dm.search_dataloaders(), "max_size_cycle"))
    if trainer.global_rank == 0:
        with open(out_path, "w") as fh:
            json.dump({"world_size": trainer.world_size, "backend": str(torch.distributed.get_backend()),
                       "steps": check.steps}, fh)


if __name__ == "__main__":
    main(sys.argv[1])
