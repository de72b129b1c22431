"""Measurements of a model on one scene: parameter counts, stage latencies and voxel counts per level.

``python -m tsp3d.bench.model_measure --config base --points 50000`` prints them (used for docs/model.md). Latency is the
median of ``repeats`` runs after one warm-up, with ``torch.set_num_threads(threads)``; ``fold`` measures the
BatchNorm-folded deployment copy.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from tsp3d.model.fold import fold_batchnorm
from tsp3d.model.grounder import TSP3D
from tsp3d.model.head import COUNT_NAMES


def parameter_counts(model: TSP3D) -> dict[str, int]:
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    return {"backbone": count(model.vision_backbone), "head": count(model.head),
            "text_projector": count(model.text_projector), "total": count(model)}


@torch.no_grad()
def calibrate_biases(model: TSP3D, points, text_feats, text_mask, fractions=(0.3, 0.6, 0.25)) -> None:
    """Shift the keep64 / keep32 / com biases so that these fractions pass TGP-1, TGP-2 and the CBA threshold.

    A randomly initialised head prunes almost everything; this gives it the workload of a trained one (the spec's
    §15 measurement does the same with ~30 % / ~60 %).
    """
    h = model.head
    targets = [(h.keep_conv[1], fractions[0], h.cfg.head.tgp_keep_threshold[0], True),
               (h.keep_conv[0], fractions[1], h.cfg.head.tgp_keep_threshold[1], True),
               (h.com_cls, fractions[2], h.cfg.head.cba_threshold, False)]
    levels = model.encode_scene(points)
    for module, fraction, threshold, is_prune_prob in targets:
        seen = []
        hook = module.register_forward_hook(lambda m, i, o: seen.append(o.feats if hasattr(o, "feats") else o))
        model.ground(*levels, text_feats, text_mask)
        hook.remove()
        logits = seen[-1].reshape(-1)
        if is_prune_prob:  # keep iff 1 - sigmoid(l) > t  <=>  l < logit(1 - t): put the f-quantile there
            shift = torch.logit(torch.tensor(1.0 - threshold)) - torch.quantile(logits, fraction)
        else:  # keep iff sigmoid(l) > t: put the (1 - f)-quantile at logit(t)
            shift = torch.logit(torch.tensor(threshold)) - torch.quantile(logits, 1.0 - fraction)
        module.bias.add_(shift)


@torch.no_grad()
def profile(model: TSP3D, points: torch.Tensor, text_feats: torch.Tensor, text_mask: torch.Tensor,
            repeats: int = 5) -> dict:
    """Median seconds of ``encode_scene`` and ``ground`` on one scene, and the voxel counts along the way."""
    model.check_points(points)
    scene_s, head_s = [], []
    for i in range(repeats + 1):
        t0 = time.perf_counter()
        levels = model.encode_scene(points)
        t1 = time.perf_counter()
        *_, counts = model.ground(*levels, text_feats, text_mask)
        t2 = time.perf_counter()
        if i:  # the first run warms up allocators and kernels
            scene_s.append(t1 - t0)
            head_s.append(t2 - t1)
    voxels = model.voxelize(points)
    per_level = {"s1": len(voxels)}
    vs = model.vision_backbone(voxels, model.cfg.capacities)
    per_level.update({f"s{v.stride}": len(v) for v in vs})
    return {"scene_stage_s": statistics.median(scene_s), "head_stage_s": statistics.median(head_s),
            "total_s": statistics.median(a + b for a, b in zip(scene_s, head_s)),
            "backbone_voxels": per_level, "head_counts": dict(zip(COUNT_NAMES, counts.tolist()))}


def cba_sampling_study(model: TSP3D, dataset, text_source, draws: int = 5, limit: int = 0, seed: int = 0) -> dict:
    """Accuracy with our deterministic CBA sample vs ``draws`` official-style random draws (``evaluate``'s
    ``cba="official-random"``, seeds ``seed`` .. ``seed + draws - 1``), on one dataset.

    Also how far the random draws move the result: mean |IoU difference| per sample and the share of samples whose
    Acc@0.25 / Acc@0.5 hit differs from the deterministic run.
    """
    from tsp3d.evaluation import evaluate

    def ious(result):
        return torch.tensor([p["iou"] for p in result["predictions"]], dtype=torch.float64)

    det = evaluate(model, dataset, text_source, limit=limit)
    det_iou = ious(det)
    out = {"deterministic": det["accuracy"]["overall"], "random": []}
    for d in range(draws):
        rnd = evaluate(model, dataset, text_source, limit=limit, cba="official-random", seed=seed + d)
        r_iou = ious(rnd)
        out["random"].append({**rnd["accuracy"]["overall"],
                              "mean_abs_iou_diff": float((r_iou - det_iou).abs().mean()),
                              "hit25_differs": float(((r_iou > 0.25) != (det_iou > 0.25)).double().mean()),
                              "hit50_differs": float(((r_iou > 0.5) != (det_iou > 0.5)).double().mean())})
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="base")
    parser.add_argument("--points", type=int, default=50_000)
    parser.add_argument("--scene", type=int, default=0, help="index of the synthetic benchmark scene")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--fold", action="store_true", help="measure the BatchNorm-folded copy")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--calibrate", type=float, nargs=3, metavar=("TGP64", "TGP32", "CBA"),
                        help="set the pruning/CBA biases so these fractions pass (random-init workloads)")
    parser.add_argument("--checkpoint", help="measure this tsp3d checkpoint instead of a random model")
    parser.add_argument("--cba-study", metavar="DATA", help="compare deterministic and random CBA samples on the "
                        "val split of this dataset (needs --checkpoint)")
    parser.add_argument("--limit", type=int, default=0, help="annotations for --cba-study (0 = all)")
    parser.add_argument("--draws", type=int, default=5, help="random CBA draws for --cba-study")
    args = parser.parse_args(argv)
    from tsp3d.data.synth.scene import generate_scene
    from tsp3d.model.config import load_config
    from tsp3d.text import load_text_encoder

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    if args.checkpoint:
        from tsp3d.checkpoint import load_model

        model, ckpt = load_model(args.checkpoint)
        cfg = ckpt.config
    else:
        cfg = load_config(args.config)
        model = TSP3D(cfg).eval()
    if args.cba_study:
        from tsp3d.data.dataset import GroundingDataset
        from tsp3d.text import TextFeatureCache

        texts = TextFeatureCache(load_text_encoder(cfg.text_encoder))
        study = cba_sampling_study(model, GroundingDataset(args.cba_study, "val"), texts, args.draws, args.limit)
        print(json.dumps(study, indent=2))
        return
    scene, anns = generate_scene(args.scene, args.points, seed=args.seed)
    text = load_text_encoder(cfg.text_encoder).encode([anns[0].text])
    points = torch.from_numpy(scene.points)
    if args.calibrate:
        calibrate_biases(model, points, text.feats, text.pad_mask, args.calibrate)
    run = fold_batchnorm(model) if args.fold else model
    result = {"config": cfg.name, "points": args.points, "threads": args.threads, "folded": args.fold,
              "params": parameter_counts(model),
              "calibrated": args.calibrate, **profile(run, points, text.feats, text.pad_mask, args.repeats)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
