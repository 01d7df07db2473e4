#!/usr/bin/env python3
"""Reads a token-budget study: folders of benchmarks/train_proxy.sh (train_NAME.json and eval_NAME.json
per architecture), one folder per seed or schedule, and answers which budget ranks the architectures
as the full budget does and which architectures come within 3% of the reference's perplexity, faster.

    python3 benchmarks/budget_report.py [--reference NAME] [--tokens N] FOLDER [FOLDER...]

Runs are grouped by (recipe.schedule, recipe.tokens); a run without recipe.schedule is cosine. The
report covers the wsd group with the most architectures (else the largest group of any schedule), or
the group whose recipe.tokens is N (--tokens). Under wsd, a smaller budget's own trainings of the same
seed are the larger training up to their decay (the same windows, the same rates): the other wsd
groups' results, their branches included, count as smaller budgets of the architectures they share.
An architecture's eval JSON is taken from its own folder, else from any folder given.
  1. per architecture (mean over seeds): shape, parameters, training FLOPs per token, grad-norm,
     latencies, steady tokens/s, the validation perplexity at each smaller budget (the train JSON's
     `budgets`, decays branched off the same wsd run) and at the full budget; the failed runs;
  2. Spearman's rho of each training-free predictor with -ppl (positive: a larger value goes with a
     lower perplexity), over all models, by depth band and by d_embed; the worst inversions of the
     decoder-parameter proxy (more parameters, over 2% worse);
  3. per smaller budget: Spearman and Kendall's tau-b of its ppl with the full budget's, how far the
     ratio to the reference (`--reference`, default gpt2_small) moves against the raw perplexity, and
     how many "within 3% of the reference" verdicts already agree with the full budget's;
  4. the architectures within 3% of the reference at the full budget, by decode latency, with their
     speed-ups, and the reference's seed spread;
  5. wsd against cosine runs of the same budget, where a folder holds both.

Standard library only (ranks and Spearman's rho with average ranks from train_report.py).
"""
import glob
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_report import spearman  # noqa: E402

USAGE = "usage: budget_report.py [--reference NAME] [--tokens N] FOLDER [FOLDER...]: give the folders benchmarks/train_proxy.sh wrote."
NEAR = 1.03  # "within 3% of the reference"
NAN = float("nan")


def finite(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def mean(xs):
    xs = [x for x in xs if finite(x)]
    return sum(xs) / len(xs) if xs else None


def fmt(x, spec):
    return format(x, spec) if finite(x) else "-"


def mtok(tokens):
    return f"{tokens / 1e6:.3g}M"


def read_json(path):
    """(object, "") or (None, why): a killed run leaves no file, an empty one or a cut one."""
    if not os.path.exists(path):
        return None, "killed (only its .tmp file)" if os.path.exists(path + ".tmp") else "no output file"
    with open(path) as f:
        text = f.read().strip()
    if not text:
        return None, "empty output (killed?)"
    try:
        obj = json.loads(text)
    except ValueError:
        return None, "unreadable JSON (cut short?)"
    return (obj, "") if isinstance(obj, dict) else (None, "not a JSON object")


def parse(name, folder, t, evals=None):
    shape = dict(kv.split("=", 1) for kv in t["architecture"].split())
    recipe = t.get("recipe") or {}
    layers, width = int(shape["n_layer"]), int(shape["d_model"])
    embed = int(shape.get("d_embed", width))
    vocab = int(shape.get("vocab", t.get("vocab", 0)))
    # the tied output's matrix product, and the in and out projections of a narrow token table
    matmul_embed = vocab * embed + (2 * embed * width if embed != width else 0)
    run = {"name": name, "folder": folder, "layers": layers, "width": width, "embed": embed,
           "decoder": t["decoder_params"], "total": t["total_params"],
           "flops": 6.0 * (t["decoder_params"] + matmul_embed) + 12.0 * layers * width * int(recipe.get("seq_len", 0)),
           "seed": recipe.get("seed"), "schedule": recipe.get("schedule", "cosine"),
           "budget": recipe.get("tokens", t.get("tokens")), "tokens": t.get("tokens") or 0,
           "tps": t.get("steady_tokens_per_second", t.get("tokens_per_second")), "ppl": t["final_val_perplexity"],
           "at": {b["tokens"]: b["val_perplexity"] for b in t.get("budgets") or []
                  if finite(b.get("val_perplexity")) and b["tokens"] < (t.get("tokens") or math.inf)}}
    own = os.path.join(folder, f"eval_{name}.json")
    e = read_json(own if os.path.exists(own) else (evals or {}).get(name, own))[0] or {}
    run["grad_norm"] = e.get("grad_norm")
    run["decode_ms"] = (e.get("decode") or {}).get("median_ms")
    run["prefill_ms"] = (e.get("prefill") or {}).get("median_ms")
    return run


def load(folders):
    runs, failed = [], []
    evals = {}  # an architecture's eval JSON in any folder: latency and grad-norm do not depend on the training
    for folder in folders:
        for path in sorted(glob.glob(os.path.join(folder, "eval_*.json"))):
            evals.setdefault(os.path.basename(path)[len("eval_"):-len(".json")], path)
    for folder in folders:
        names = sorted({os.path.basename(p)[len("train_"):-len(".json")] for p in glob.glob(os.path.join(folder, "train_*.json"))} |
                       {os.path.basename(p)[len("eval_"):-len(".json")] for p in glob.glob(os.path.join(folder, "eval_*.json"))})
        for name in names:
            t, why = read_json(os.path.join(folder, f"train_{name}.json"))
            if t is not None and t.get("status") != "ok":
                why = f"status {t.get('status')} {t.get('message') or ''}".strip()
            elif t is not None and not finite(t.get("final_val_perplexity")):
                why = "no final validation perplexity"
            if not why:
                try:
                    runs.append(parse(name, folder, t, evals))
                    continue
                except (KeyError, ValueError, TypeError, AttributeError) as e:
                    why = f"unexpected train JSON ({e!r})"
            failed.append((name, folder, why))
    return runs, failed


def aggregate(runs):
    """One row per architecture: the mean over its seeds (the shape and parameters are the same)."""
    by_name = {}
    for r in runs:
        by_name.setdefault(r["name"], []).append(r)
    archs = []
    for rs in by_name.values():
        a = dict(rs[0])
        for key in ("ppl", "tps", "grad_norm", "decode_ms", "prefill_ms"):
            a[key] = mean(r[key] for r in rs)
        a["at"] = {b: mean(r["at"].get(b) for r in rs) for b in sorted({b for r in rs for b in r["at"]})}
        a["seeds"] = sorted(((r["seed"], r["ppl"]) for r in rs), key=lambda s: (s[0] is None, s[0] or 0))
        archs.append(a)
    return sorted(archs, key=lambda a: a["ppl"])


def fold_in_smaller(archs, smaller_groups):
    """A smaller wsd budget's own trainings (and their branches) as budgets on the way of the same
    architectures' larger wsd trainings: the same seed reads the same windows at the same rates up to
    the smaller budget's decay, so each is the branch the larger training would have measured there."""
    for rs in smaller_groups:
        for a in archs:
            mine = [r for r in rs if r["name"] == a["name"]]
            if not mine:
                continue
            at = {}
            for r in mine:
                for b, p in list(r["at"].items()) + [(r["tokens"], r["ppl"])]:
                    at.setdefault(b, []).append(p)
            for b, ps in at.items():
                a["at"].setdefault(b, mean(ps))
            a["at"] = dict(sorted(a["at"].items()))


def kendall(xs, ys):
    """Kendall's tau-b: (concordant - discordant) / sqrt((pairs - ties in x) (pairs - ties in y))."""
    n, c, d, tx, ty = len(xs), 0, 0, 0, 0
    for i in range(n):
        for j in range(i + 1, n):
            s = (xs[i] - xs[j]) * (ys[i] - ys[j])
            tx += xs[i] == xs[j]
            ty += ys[i] == ys[j]
            c += s > 0
            d += s < 0
    pairs = n * (n - 1) / 2
    den = math.sqrt((pairs - tx) * (pairs - ty))
    return (c - d) / den if n >= 3 and den > 0 else NAN


def per_arch(archs, budgets, failed):
    print("| model | layers | width | d_embed | decoder (M) | total (M) | train MFLOP/token | grad-norm | decode ms | "
          "prefill ms | tokens/s | " + "".join(f"ppl @ {mtok(b)} | " for b in budgets) + "ppl full | seeds |")
    print("|---" * (13 + len(budgets)) + "|")
    for a in archs:
        at = "".join(fmt(a["at"].get(b), ".2f") + " | " for b in budgets)
        print(f"| {a['name']} | {a['layers']} | {a['width']} | {a['embed']} | {a['decoder'] / 1e6:.1f} | {a['total'] / 1e6:.1f} | "
              f"{a['flops'] / 1e6:.0f} | {fmt(a['grad_norm'], '.3g')} | {fmt(a['decode_ms'], '.4f')} | "
              f"{fmt(a['prefill_ms'], '.3f')} | {fmt(a['tps'], '.0f')} | {at}{a['ppl']:.2f} | {len(a['seeds'])} |")
    if failed:
        print("\nFailed or unfinished runs:\n\n| model | folder | why |\n|---|---|---|")
        for name, folder, why in failed:
            print(f"| {name} | {folder} | failed: {why} |")
    print()


PREDICTORS = (("decoder params", "decoder"), ("total params", "total"), ("training FLOPs/token", "flops"),
              ("grad-norm", "grad_norm"), ("n_layer", "layers"), ("d_model", "width"))


def proxies(archs):
    subsets = [("all", archs)]
    for lo, hi in ((1, 3), (4, 8), (10, 24)):
        subsets.append((f"layers {lo}-{hi}", [a for a in archs if lo <= a["layers"] <= hi]))
    subsets.append(("d_embed = d_model", [a for a in archs if a["embed"] == a["width"]]))
    subsets.append(("narrow d_embed", [a for a in archs if a["embed"] != a["width"]]))
    subsets = subsets[:1] + [(label, sub) for label, sub in subsets[1:] if 4 <= len(sub) < len(archs)]
    print("## The proxy at the full budget\n")
    if len(archs) < 3:
        print(f"{len(archs)} model(s): too few for a rank correlation.\n")
        return
    print("Spearman(predictor, -ppl): positive = a larger value goes with a lower perplexity.\n")
    print("| predictor | " + " | ".join(f"{label} ({len(sub)})" for label, sub in subsets) + " |")
    print("|---" * (1 + len(subsets)) + "|")
    for label, key in PREDICTORS:
        cells = []
        for _, sub in subsets:
            have = [a for a in sub if finite(a[key])]
            cells.append(fmt(spearman([a[key] for a in have], [-a["ppl"] for a in have]), ".3f"))
        if any(c != "-" for c in cells):
            print(f"| {label} | " + " | ".join(cells) + " |")
    inversions = sorted(((b["ppl"] / a["ppl"], b, a) for a in archs for b in archs
                         if b["decoder"] > a["decoder"] and b["ppl"] > 1.02 * a["ppl"]), key=lambda x: -x[0])
    print(f"\nWhere the decoder-parameter proxy stops holding: {len(inversions)} pair(s) where more decoder parameters "
          "give a perplexity over 2% worse" + (", the worst 10:" if len(inversions) > 10 else ":" if inversions else "."))
    if inversions:
        print("\n| more params | decoder (M) | ppl | fewer params | decoder (M) | ppl | worse by |\n|---|---|---|---|---|---|---|")
        for worse, b, a in inversions[:10]:
            print(f"| {b['name']} | {b['decoder'] / 1e6:.1f} | {b['ppl']:.2f} | {a['name']} | {a['decoder'] / 1e6:.1f} | "
                  f"{a['ppl']:.2f} | {100 * (worse - 1):.1f}% |")
    print()


def budget_ranks(archs, budgets, ref):
    print(f"## How budgets rank\n\nAgainst the full budget ({mtok(archs[0]['tokens'])} tokens); the ratio is ppl / ppl of the "
          f"reference {ref['name'] if ref else '(absent)'} at the same budget (the reference itself left out of its columns).\n")
    print("| budget | models | Spearman | Kendall tau-b | mean ppl(b)/ppl(full) | mean abs(ratio(b) - ratio(full)) | "
          "max abs(ratio(b) - ratio(full)) | within 3% as at full |\n|---|---|---|---|---|---|---|---|")
    rhos, agree_all = {}, []
    for b in budgets:
        both = [a for a in archs if finite(a["at"].get(b))]
        x, y = [a["at"][b] for a in both], [a["ppl"] for a in both]
        rhos[b] = spearman(x, y)
        moves, agree = [], 0
        others = [a for a in both if ref and a is not ref] if ref and finite(ref["at"].get(b)) else []
        for a in others:
            rb, rf = a["at"][b] / ref["at"][b], a["ppl"] / ref["ppl"]
            moves.append(abs(rb - rf))
            agree += (rb <= NEAR) == (rf <= NEAR)
        agree_all.append(bool(others) and agree == len(others))
        print(f"| {mtok(b)} | {len(both)} | {fmt(rhos[b], '.3f')} | {fmt(kendall(x, y), '.3f')} | "
              f"{fmt(mean(p / q for p, q in zip(x, y)), '.3f')} | {fmt(mean(moves), '.4f')} | "
              f"{fmt(max(moves) if moves else None, '.4f')} | {f'{agree}/{len(others)}' if others else '-'} |")
    good = [b for b in budgets if rhos[b] >= 0.9]
    if good:
        print(f"\nThe smallest budget with Spearman >= 0.9: {mtok(good[0])} (rho {rhos[good[0]]:.3f}).")
    else:
        best = max(budgets, key=lambda b: rhos[b] if finite(rhos[b]) else -2)
        print(f"\nNo smaller budget reaches Spearman >= 0.9; the best is {mtok(best)} (rho {fmt(rhos[best], '.3f')}).")
    since = None
    for b, ok in reversed(list(zip(budgets, agree_all))):
        if not ok:
            break
        since = b
    print("The 'within 3%' verdicts agree with the full budget's for every model " +
          (f"from {mtok(since)} on." if since else "at no smaller budget (or they lack the reference).") + "\n")


def answer(archs, ref_name):
    print(f"## The answer: within 3% of {ref_name} at the full budget\n")
    ref = next((a for a in archs if a["name"] == ref_name), None)
    if ref is None:
        print(f"The reference {ref_name} has no finished run in this group (--reference NAME picks another).\n")
        return
    near = sorted((a for a in archs if a["ppl"] / ref["ppl"] <= NEAR),
                  key=lambda a: a["decode_ms"] if finite(a["decode_ms"]) else math.inf)
    print("| model | ppl / reference | decode ms | prefill ms | decode speed-up | prefill speed-up | ppl per seed | mean ppl |\n"
          "|---|---|---|---|---|---|---|---|")

    def speedup(a, key):
        return ref[key] / a[key] if finite(ref[key]) and finite(a[key]) and a[key] > 0 else None

    for a in near:
        seeds = ", ".join(f"s{s}: {p:.2f}" for s, p in a["seeds"])
        print(f"| {a['name']} | {a['ppl'] / ref['ppl']:.4f} | {fmt(a['decode_ms'], '.4f')} | {fmt(a['prefill_ms'], '.3f')} | "
              f"{fmt(speedup(a, 'decode_ms'), '.2f')}x | {fmt(speedup(a, 'prefill_ms'), '.2f')}x | {seeds} | {a['ppl']:.2f} |")
    fastest = near[0]
    if fastest is ref or not finite(fastest["decode_ms"]):
        print(f"\nNo architecture within 3% decodes faster than {ref_name}.")
    else:
        print(f"\nThe fastest within 3%: {fastest['name']} ({fastest['layers']} layers, d_model {fastest['width']}, d_embed "
              f"{fastest['embed']}), ppl {fastest['ppl']:.2f} against {ref['ppl']:.2f}, decode {speedup(fastest, 'decode_ms'):.2f}x "
              f"and prefill {fmt(speedup(fastest, 'prefill_ms'), '.2f')}x faster than {ref_name}.")
    if len(ref["seeds"]) >= 2:
        ppls = [p for _, p in ref["seeds"]]
        print(f"Seed noise of the reference: {100 * (max(ppls) - min(ppls)) / mean(ppls):.2f}% "
              f"({', '.join(f's{s}: {p:.2f}' for s, p in ref['seeds'])}), against the 3% threshold.")
    print()


def versus(wsd, groups):
    by_name = {a["name"]: a for a in wsd}
    for (schedule, budget), runs in sorted(groups.items(), key=lambda kv: kv[0][1] or 0):
        if schedule != "cosine":
            continue
        rows = []
        for c in aggregate(runs):
            w = by_name.get(c["name"])
            if w is None:
                continue
            if budget == w["budget"]:
                p = w["ppl"]
            else:  # a smaller budget of the wsd run, branched off at the cosine run's tokens
                p = next((v for b, v in w["at"].items() if abs(b - c["tokens"]) <= 0.01 * c["tokens"]), None)
            if finite(p):
                rows.append((c["name"], p, c["ppl"]))
        if rows:
            print(f"## wsd against cosine at the same budget ({mtok(budget)} tokens)\n\n"
                  "| model | ppl wsd | ppl cosine | wsd/cosine - 1 |\n|---|---|---|---|")
            for name, p, q in rows:
                print(f"| {name} | {p:.2f} | {q:.2f} | {100 * (p / q - 1):+.2f}% |")
            print(f"\nMean wsd/cosine - 1 over {len(rows)} model(s): {100 * mean(p / q - 1 for _, p, q in rows):+.2f}%.\n")


def main(argv):
    reference, folders, tokens = "gpt2_small", [], None
    args = iter(argv)
    for arg in args:
        if arg == "--reference":
            reference = next(args, None)
        elif arg == "--tokens":
            value = next(args, "")
            if not value.isdigit():
                sys.stderr.write(f"budget_report.py: --tokens takes a token count, not '{value}'.\n")
                return 2
            tokens = int(value)
        elif arg in ("-h", "--help"):
            print(__doc__)
            return 0
        else:
            folders.append(arg)
    if not folders or not reference or reference.startswith("-"):
        sys.stderr.write(USAGE + "\n")
        return 2
    missing = [f for f in folders if not os.path.isdir(f)]
    if missing:
        sys.stderr.write(f"budget_report.py: {missing[0]} is not a folder.\n")
        return 2
    runs, failed = load(folders)
    if not runs and not failed:
        sys.stderr.write(f"budget_report.py: no train_*.json or eval_*.json in {', '.join(folders)}.\n")
        return 2
    groups = {}
    for r in runs:
        groups.setdefault((r["schedule"], r["budget"]), []).append(r)
    pool = [k for k in groups if k[0] == "wsd"] or list(groups)
    print("Runs: " + ("; ".join(f"{s} at {mtok(b)} tokens: {len({r['name'] for r in rs})} architectures, {len(rs)} run(s)"
                                for (s, b), rs in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)))
                      or "none finished") + f"; {len(failed)} failed.\n")
    if not groups:
        per_arch([], [], failed)
        return 0
    if tokens is not None:
        pool = sorted((k for k in groups if k[1] == tokens), key=lambda k: k[0] != "wsd")[:1]
        if not pool:
            sys.stderr.write(f"budget_report.py: no finished run has recipe.tokens {tokens} (those there: "
                             f"{', '.join(str(b) for b in sorted({k[1] for k in groups if k[1] is not None}))}).\n")
            return 2
    key = max(pool, key=lambda k: (len({r["name"] for r in groups[k]}), k[1] or 0))
    archs = aggregate(groups[key])
    if key[0] == "wsd":
        fold_in_smaller(archs, [groups[k] for k in groups if k[0] == "wsd" and (k[1] or 0) < (key[1] or 0)])
    budgets = sorted({b for a in archs for b in a["at"]})
    print(f"# {key[0]} runs at {mtok(key[1])} tokens" + ("" if key[0] == "wsd" else " (no wsd runs: the largest group)") + "\n")
    per_arch(archs, budgets, failed)
    proxies(archs)
    if budgets:
        budget_ranks(archs, budgets, next((a for a in archs if a["name"] == reference), None))
    answer(archs, reference)
    if key[0] == "wsd":
        versus(archs, groups)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
