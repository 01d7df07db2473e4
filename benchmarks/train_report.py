#!/usr/bin/env python3
"""Tabulates a proxy study (benchmarks/train_proxy.sh's output folder): per architecture the
decoder parameters, the grad-norm at initialisation, decode and prefill latency, tokens per
second, the validation perplexity at each checkpoint and the last checkpoint's validation loss
minus its training loss (the mean since the previous checkpoint): how much the model overfits; then Spearman's rank correlation of
each proxy with the final validation perplexity, over all models and by depth band.

    python3 benchmarks/train_report.py OUTDIR [OUTDIR...]

Standard library only. Spearman's rho is computed with average ranks for ties.
"""
import glob
import json
import math
import os
import sys


def ranks(xs):
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    r = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return r


def spearman(xs, ys):
    if len(xs) < 3:
        return float("nan")
    rx, ry = ranks(xs), ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    sxx = sum((a - mx) ** 2 for a in rx)
    syy = sum((b - my) ** 2 for b in ry)
    return sxy / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else float("nan")


def load(folders):
    rows = []
    for folder in folders:
        for path in sorted(glob.glob(os.path.join(folder, "train_*.json"))):
            name = os.path.basename(path)[len("train_"):-len(".json")]
            with open(path) as f:
                text = f.read().strip()
            if not text:
                rows.append({"name": name, "status": "no output"})
                continue
            t = json.loads(text)
            row = {"name": name, "status": t["status"], "arch": t["architecture"],
                   "decoder": t["decoder_params"], "total": t["total_params"], "tokens": t["tokens"],
                   "tps": t["tokens_per_second"], "checkpoints": t["checkpoints"],
                   "ppl": t["final_val_perplexity"], "message": t["message"]}
            fields = dict(kv.split("=") for kv in t["architecture"].split())
            row["layers"] = int(fields["n_layer"])
            row["width"] = int(fields["d_model"])
            row["embed"] = int(fields.get("d_embed", fields["d_model"]))
            last = t["checkpoints"][-1] if t["checkpoints"] else {}
            if "train_loss" in last and "val_loss" in last:
                row["gap"] = last["val_loss"] - last["train_loss"]  # overfitting, in nats
            ev = os.path.join(folder, "eval_" + name + ".json")
            if os.path.exists(ev):
                with open(ev) as f:
                    etext = f.read().strip()
                if etext:
                    e = json.loads(etext)
                    row["grad_norm"] = e.get("grad_norm")
                    row["decode_ms"] = (e.get("decode") or {}).get("median_ms")
                    row["prefill_ms"] = (e.get("prefill") or {}).get("median_ms")
            rows.append(row)
    return rows


def fmt(x, spec):
    return "-" if x is None else format(x, spec)


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: train_report.py OUTDIR [OUTDIR...]")
    rows = load(sys.argv[1:])
    done = [r for r in rows if r.get("status") == "ok" and r.get("ppl")]
    done.sort(key=lambda r: r["ppl"])
    print("| model | layers | width | e | decoder params (M) | grad-norm | decode ms | prefill ms | tokens/s | "
          "val ppl at each checkpoint | val - train loss | final val ppl |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in done:
        curve = " / ".join(format(c["val_perplexity"], ".1f") for c in r["checkpoints"])
        print(f"| {r['name']} | {r['layers']} | {r['width']} | {r['embed']} | {r['decoder'] / 1e6:.1f} | "
              f"{fmt(r.get('grad_norm'), '.3g')} | {fmt(r.get('decode_ms'), '.4f')} | {fmt(r.get('prefill_ms'), '.3f')} | "
              f"{r['tps']:.0f} | {curve} | {fmt(r.get('gap'), '.2f')} | {r['ppl']:.2f} |")
    for r in rows:
        if r not in done:
            print(f"| {r['name']} | failed: {r.get('status')} {r.get('message', '')} |")
    print()
    if not done:
        return
    tokens = sorted({r["tokens"] for r in done})
    print(f"{len(done)} models trained, tokens per model: {', '.join(str(t) for t in tokens)}")
    ppl = [-r["ppl"] for r in done]  # higher is better, as the proxies
    print(f"Spearman(decoder params, -val ppl) = {spearman([r['decoder'] for r in done], ppl):.3f}")
    with_gn = [r for r in done if r.get("grad_norm") is not None]
    if len(with_gn) >= 3:
        print(f"Spearman(grad-norm, -val ppl) = {spearman([r['grad_norm'] for r in with_gn], [-r['ppl'] for r in with_gn]):.3f}")
    for lo, hi in ((1, 3), (4, 8), (12, 24)):
        band = [r for r in done if lo <= r["layers"] <= hi]
        if len(band) >= 3:
            print(f"  layers {lo}-{hi} ({len(band)} models): Spearman(decoder params, -val ppl) = "
                  f"{spearman([r['decoder'] for r in band], [-r['ppl'] for r in band]):.3f}")


if __name__ == "__main__":
    main()
