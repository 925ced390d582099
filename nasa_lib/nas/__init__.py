"""NASA's algorithm side as Lightning modules: PGP pretraining, differentiable search, retraining."""
from .common import FLOPS_DISCOUNT, flops_cost, flops_cost_table, step_generator
from .pretrain import PGPPretrainModule, PGPSchedule
from .retrain import RetrainModule, conv_twin
from .runner import build_trainer, fit_resumable, last_checkpoint
from .search import SEARCH_MODES, SearchModule

__all__ = ["FLOPS_DISCOUNT", "flops_cost", "flops_cost_table", "step_generator", "PGPPretrainModule",
           "PGPSchedule", "RetrainModule", "conv_twin", "build_trainer", "fit_resumable", "last_checkpoint",
           "SEARCH_MODES", "SearchModule"]
