"""Every design choice of ``nasa_lib.dance`` that rests on a recollection of DANCE, or on our own
choice where the paper is silent.  Only DANCE's abstract is confirmed (SOURCES.md [DANCE]):
an evaluator network models the hardware cost tool, making hardware metrics differentiable in the
accelerator design, so network and accelerator are searched together by backpropagation.

``ASSUMPTIONS`` maps a key (cited in the docstrings) to ``{"choice", "basis", "status"}`` where
status is ``"recalled"`` (remembered from DANCE, unconfirmed), ``"ours"`` (the suite's choice where
DANCE is silent or unknown) or ``"confirmed"``.  ``assumptions_table()`` gives rows for a report.
"""
from __future__ import annotations

ASSUMPTIONS: dict[str, dict] = {
    "evaluator_idea": {
        "choice": "A network (the evaluator) learns the hardware cost tool's output, so hardware metrics are "
                  "differentiable in the accelerator design; network and accelerator are searched together "
                  "by backpropagation.",
        "basis": "DANCE abstract (SOURCES.md [DANCE]).", "status": "confirmed"},
    "ground_truth_tool": {
        "choice": "Ground truth is nasa_lib.hw (analytical cost model + auto-mapper), not Timeloop + Accelergy.",
        "basis": "DANCE used Timeloop + Accelergy as we recall (unconfirmed); the suite's own hardware model is "
                 "its hardware evaluation software.", "status": "recalled"},
    "design_space_eyeriss": {
        "choice": "Eyeriss-like template: PE array rows and columns, register-file size, global buffer size, "
                  "dataflow (RS, WS, OS); values in design_spaces/eyeriss_dance.yaml.",
        "basis": "DANCE's accelerator space as recalled (SOURCES.md [DANCE]); the value ranges are ours.",
        "status": "recalled"},
    "pe_array_shape": {
        "choice": "Rows x cols enter the costs only through their product (and the area); the ground truth "
                  "is nasa_lib.hw under its per-layer setting (nasa_lib.hw.PER_LAYER: flat PE pool, no "
                  "inter-layer reuse, no leakage, psums at the data width, physical PE budget).",
        "basis": "DANCE's cost tables sum per-layer entries; the realistic switches (row x column arrays, reuse "
                 "between layers, network-level leakage) break that sum and are not yet tabulated.",
        "status": "ours"},
    "design_space_chunk": {
        "choice": "Chunk-based space: PE split among conv / shift / adder chunks in steps of 14 PEs under the "
                  "168-PE budget, buffer size, dataflow per chunk; buffer split among busy chunks in "
                  "proportion to their PEs (as nasa_lib.hw.map_network).",
        "basis": "Neither paper co-explores this space; it is the suite's union of NASA and DANCE.",
        "status": "ours"},
    "evaluator_network": {
        "choice": "MLP (3 hidden layers of 128, SiLU) on one-hot architecture and design encodings (plus min-max "
                  "scaled numeric design features), targets log latency / energy / area standardised, MSE loss, "
                  "AdamW with a one-cycle schedule, best validation epoch kept.",
        "basis": "DANCE's cost network is an MLP as we recall; its exact size, inputs and training are unknown.",
        "status": "recalled"},
    "evaluator_outputs": {
        "choice": "The evaluator predicts latency, energy and area; cost = latency, energy, EDP or EDAP.",
        "basis": "DANCE's outputs and its cost choices (latency, energy, EDAP) as recalled; EDP added.",
        "status": "recalled"},
    "hardware_generator": {
        "choice": "A generator MLP (one hidden layer of 64, SiLU) maps the per-layer softmax of alpha to logits per "
                  "design dimension; a hard Gumbel-softmax sample per dimension (straight-through), temperature "
                  "hw_tau; the last layer starts at zero (uniform first designs).",
        "basis": "DANCE's hardware generation network with Gumbel softmax as recalled; sizes are ours.",
        "status": "recalled"},
    "loss": {
        "choice": "loss = CE + lambda * cost / (geometric-mean cost of the evaluator's training data).",
        "basis": "DANCE's CE + lambda * cost as recalled; the normalisation (lambda unitless) is ours.",
        "status": "recalled"},
    "cost_form": {
        "choice": "Default hardware term lambda * log(cost / ref) (cost_form='log'); lambda * cost / ref "
                  "(cost_form='linear', DANCE's form as recalled) is available.",
        "basis": "Ours: with the linear form the pull on the network shrinks as the generator finds a cheaper "
                 "accelerator (seen on MNIST-5k: co-exploration then kept costlier networks than the fixed-"
                 "accelerator search at the same lambda); the log form makes the pull a relative cost change.",
        "status": "ours"},
    "evaluator_input": {
        "choice": "The evaluator reads the one-hot encoding of the sampled network (straight-through to the sampled "
                  "weights), not the mixture weights (arch_input='sample'; 'weights' is available).",
        "basis": "Ours: the evaluator is trained on one-hot networks; on mixtures its error during the search was "
                 "67-118% against the exact cost of the sampled pair (MNIST-5k, eyeriss_dance).",
        "status": "ours"},
    "straight_through_exact": {
        "choice": "The loss carries the exact cost of the sampled (network, accelerator) pair; the gradient is the "
                  "evaluator's.",
        "basis": "Asked for by the suite's issue; not known to be in DANCE.", "status": "ours"},
    "dataset_sampling": {
        "choice": "Architectures drawn with Dirichlet(1) preferences over operator kinds; designs uniform; pairs "
                  "costed exactly from the mapper's per-layer tables; split by architecture.",
        "basis": "DANCE's data-set sampling is not known.", "status": "ours"},
    "backbone": {
        "choice": "The suite's FBNet-style supernet and search (not ProxylessNAS's backbone); Eyeriss template "
                  "with OnlyConv, chunk template with Hybrid-All.",
        "basis": "DANCE used a ProxylessNAS-style backbone on CIFAR-10 / ImageNet as recalled.",
        "status": "recalled"},
    "baselines": {
        "choice": "Sequential baseline: search on the design space's reference accelerator with the same loss, then "
                  "exhaustive accelerator search; the exhaustive joint optimum where the space is small enough.",
        "basis": "DANCE compared against NAS-then-accelerator-search and non-differentiable co-exploration as "
                 "recalled.", "status": "recalled"},
}


def assumptions_table() -> list[dict]:
    """Rows ``{key, status, choice, basis}`` for reports."""
    return [{"key": k, **v} for k, v in ASSUMPTIONS.items()]
