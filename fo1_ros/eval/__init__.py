"""Evaluation on held-out synthetic scenes (`fo1-ros eval`): `run` (the question battery and
its summary), `metrics` (COCO-style mAP, answer normalisation, caption attributes, semantic
similarity).

The two constants live here, where reading them loads nothing else (the CLI's parser, scripts).
"""

# held-out scenes use seeds EVAL_SEED_BASE + i; training seeds stay below 1 000 000
EVAL_SEED_BASE = 1_000_000
# proposals an evaluation runs with: the default proposer's, or the ground-truth boxes
PROPOSAL_MODES = ("default", "gt")
