"""Can the shipped model's language model learn FO1's region binding from scratch?

The task, without any vision: a prompt lists K regions as ``<regionK>`` + one object token
(a noisy code of one of 12 colours, through a trainable linear map, as HFRE features arrive
through the projector), then asks about one ``<regionK>``; the answer is that object's colour.
Answering needs an induction circuit (the object token must learn which index precedes it).
Trains the fo1-small language model from scratch three times, same seed and data: as
initialised; with layer 0 / head 0 seeded as a previous-token head (fo1_ros.train.losses.
seed_previous_token_head); and seeded only after --shortcut-steps on one-object prompts (where
no binding is needed: the order the first trainer used). Prints the mean loss per 100 steps of
each; the loss of a model that only knows which colours are present (no binding) is printed as
the reference.

    python tools/binding_probe.py --steps 900 --max-objects 4 --shortcut-steps 300
    python tools/binding_probe.py --gap 10     # as far apart as the chat template puts them

A fourth column (seeded + aux) adds the trainer's binding loss (fo1_ros.train.losses,
StageConfig.binding_loss): a throwaway linear head on the last hidden state at the cited
``<regionK>`` of the question must name that object's colour, so the circuit is supervised
where it forms instead of ~11 tokens later.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch

from fo1_ros.model.config import preset
from fo1_ros.model.modeling import FO1ForCausalLM
from fo1_ros.train.losses import seed_previous_token_head

SYSTEM, QUESTION, END = 60, 50, 1  # arbitrary token ids of the 1024-token vocabulary
REGION0, ANSWER0, N_COLOURS = 100, 10, 12


def make_batch(model, proj, codes, rng, batch: int, max_objects: int, gap: int = 0):
    """(inputs_embeds (B, T, D), position_ids (3, B, T), attention_mask (B, T), labels (B, T))."""
    emb = model.model.embed_tokens
    rows, labels = [], []
    for _ in range(batch):
        n = int(rng.integers(1, max_objects + 1))
        colours = rng.integers(0, N_COLOURS, n)
        ids, slots = [SYSTEM] * 5, []
        for k in range(n):
            ids.append(REGION0 + k)
            slots.append(len(ids))
            ids.append(0)  # the object token's slot
        k = int(rng.integers(n))
        # `gap` filler tokens between the question and the answer (the chat template puts ~11 there)
        ids += [QUESTION, REGION0 + k, QUESTION] + list(range(61, 61 + gap)) + [ANSWER0 + int(colours[k]), END]
        e = emb(torch.tensor(ids)).clone()
        noise = torch.from_numpy(rng.normal(0, 0.3, (n, codes.shape[1])).astype(np.float32))
        e[slots] = proj(codes[torch.from_numpy(colours)] + noise)
        lab = torch.full((len(ids),), -100)
        lab[-2] = ANSWER0 + int(colours[k])
        aux = torch.full((len(ids),), -100)
        aux[len(ids) - gap - 4] = int(colours[k])  # the cited <regionK>
        rows.append(e)
        labels.append(torch.stack([lab, aux]))
    T, D = max(lb.shape[1] for lb in labels), rows[0].shape[1]
    E, L, A = torch.zeros(batch, T, D), torch.full((batch, T), -100), torch.full((batch, T), -100)
    M = torch.zeros(batch, T, dtype=torch.long)
    for i, (e, lb) in enumerate(zip(rows, labels)):
        n = lb.shape[1]
        E[i, :n], L[i, :n], A[i, :n], M[i, :n] = e, lb[0], lb[1], 1
    return E, torch.arange(T)[None, None].expand(3, batch, T), M, L, A


def train(seeded: bool, steps: int, max_objects: int, batch: int, seed: int, shortcut_steps: int = 0,
          gap: int = 0, aux: bool = False) -> list[float]:
    torch.manual_seed(seed)
    model = FO1ForCausalLM(preset("fo1-small")).train()
    D = model.config.text.hidden_size
    codes = torch.randn(N_COLOURS, D)
    proj = torch.nn.Linear(D, D)
    head = torch.nn.Linear(D, N_COLOURS)  # the binding loss's throwaway head
    if seeded and not shortcut_steps:
        seed_previous_token_head(model)
    opt = torch.optim.AdamW(list(model.parameters()) + list(proj.parameters()) + list(head.parameters()), lr=1e-3)
    rng = np.random.default_rng(seed)
    losses = []
    for step in range(steps):
        if seeded and shortcut_steps and step == shortcut_steps:
            seed_previous_token_head(model)
        k = 1 if step < shortcut_steps else max_objects
        E, P, M, L, A = make_batch(model, proj, codes, rng, batch, k, gap)
        out = model(E, P, M, labels=L)
        loss = out.loss
        if aux:
            loss = loss + torch.nn.functional.cross_entropy(head(out.last_hidden_state).flatten(0, 1), A.flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(out.loss.detach()))  # the answer loss only
    return losses


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=900)
    ap.add_argument("--max-objects", type=int, default=4)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shortcut-steps", type=int, default=300)
    ap.add_argument("--gap", type=int, default=0, help="filler tokens between the question and the answer")
    args = ap.parse_args()
    torch.set_num_threads(1)
    # without binding the best answer is "one of the colours present": mean log(n) over n = 1..K
    reference = float(np.mean([math.log(n) for n in range(1, args.max_objects + 1)]))
    t0 = time.time()
    plain = train(False, args.steps, args.max_objects, args.batch, args.seed, gap=args.gap)
    seeded = train(True, args.steps, args.max_objects, args.batch, args.seed, gap=args.gap)
    late = train(True, args.steps, args.max_objects, args.batch, args.seed, args.shortcut_steps, args.gap)
    aux = train(True, args.steps, args.max_objects, args.batch, args.seed, gap=args.gap, aux=True)
    print(f"binding task, 1-{args.max_objects} objects, gap {args.gap}, batch {args.batch}; "
          f"loss without binding ~ {reference:.3f}; "
          f"third column: one object per prompt for {args.shortcut_steps} steps, then seeded")
    print(f"{'steps':>10s}{'as initialised':>16s}{'seeded head':>14s}{'seeded late':>14s}{'seeded + aux':>14s}")
    for i in range(0, args.steps, 100):
        print(f"{i + 1:5d}-{min(i + 100, args.steps):<4d}{np.mean(plain[i:i + 100]):16.3f}"
              f"{np.mean(seeded[i:i + 100]):14.3f}{np.mean(late[i:i + 100]):14.3f}{np.mean(aux[i:i + 100]):14.3f}")
    last = [float(np.mean(x[-100:])) for x in (plain, seeded, late, aux)]
    print(f"last 100 steps: as initialised {last[0]:.3f}, seeded {last[1]:.3f}, seeded late {last[2]:.3f}, "
          f"seeded + aux {last[3]:.3f} "
          f"(as initialised / seeded = {last[0] / max(last[1], 1e-9):.0f}x); {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
