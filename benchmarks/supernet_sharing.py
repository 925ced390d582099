"""Supernet accuracy and CPU time of PGP pretraining on the embedded default, per weight-sharing
mode (``network.weight_sharing``) and schedule: the measurements behind the embedded default's
pretraining settings (issue 16; the causes are in ``benchmarks/supernet_remedies/FINDINGS.md``).

    python benchmarks/supernet_sharing.py SPACE EPOCHS MULT_EPOCHS ADDER_EPOCHS PGP(0|1) FULL_WIDTH_FRACTION SEED \\
        '{"weight_sharing": "elastic_kinds", "batch_size": 64}' >> benchmarks/results/supernet_sharing.jsonl

One JSON line per run: the space, schedule and options, the wall time (seconds, on the machine it
ran on; NT threads, default 1) and per epoch the phase, training loss, the supernet's validation
accuracy (mean, min and max over its fixed evaluation paths, and the widest path) and seconds.
The data: the embedded MNIST-5k split of the pipeline (data stage) at ``--data`` (default
data/mnist5k; ``python -m nasa_lib.data.materialize --dataset mnist5k --out data/mnist5k``).
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import tempfile
import time


def main(argv: list[str]) -> dict:
    import pytorch_lightning as pl
    import torch

    from nasa_lib.data import build_datamodule
    from nasa_lib.nas import PGPPretrainModule, build_trainer, fit_resumable
    from nasa_lib.space import FBNetLayout
    space, epochs, mult, adder, pgp, fwf, seed = argv[0], int(argv[1]), int(argv[2]), int(argv[3]), argv[4] == "1", \
        float(argv[5]), int(argv[6])
    options = json.loads(argv[7]) if len(argv) > 7 else {}
    torch.set_num_threads(int(os.environ.get("NT", "1")))
    pl.seed_everything(seed, workers=True, verbose=False)
    dm = build_datamodule("mnist5k", seed=0, data_dir=os.environ.get("DATA", "data/mnist5k"),
                          batch_size=options.pop("batch_size", 64), eval_batch_size=500, num_workers=0,
                          val_fraction=0.1, test_fraction=0.2, train_portion=0.5, augment="none", subset=None,
                          pad_to=None, verify="off")
    dm.setup("fit")
    layout = FBNetLayout(width_mult=0.25, depth_mult=0.5, header_channels=512, stem_stride=2,
                         in_channels=dm.in_channels, input_size=dm.input_size, num_classes=dm.num_classes)
    module = PGPPretrainModule(space, layout.to_dict(), epochs, mult, adder, pgp, fwf, options.pop("n_paths", 1),
                               options.pop("lr", 0.1), seed=seed, **options)
    out = tempfile.mkdtemp()
    # ACCEL=gpu runs it on a GPU (the same code; used to scan settings faster than the 2-core CPU allows)
    trainer = build_trainer(out, "pretrain", epochs, accelerator=os.environ.get("ACCEL", "cpu"))
    t0 = time.time()
    with contextlib.redirect_stdout(io.StringIO()):
        fit_resumable(trainer, module, out, label="benchmark", datamodule=dm)
    keep = ("phase", "val_acc", "val_acc_widest", "val_acc_paths_min", "val_acc_paths_max", "train_loss",
            "epoch_seconds", "full_width_fraction")
    return {"space": space, "epochs": epochs, "mult_epochs": mult, "adder_epochs": adder, "pgp": pgp,
            "full_width_fraction": fwf, "seed": seed, "options": json.loads(argv[7]) if len(argv) > 7 else {},
            "threads": torch.get_num_threads(), "accelerator": os.environ.get("ACCEL", "cpu"),
            "wall_s": round(time.time() - t0, 1),
            "history": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in h.items() if k in keep}
                        for h in module.history]}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
