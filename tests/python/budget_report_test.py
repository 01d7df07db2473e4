"""Tests of benchmarks/budget_report.py (the token-budget study's report) on fixture folders.

    python3 tests/python/budget_report_test.py

Writes, in a temporary folder, what benchmarks/train_proxy.sh leaves for two seeds of a wsd study at
10 M tokens (six architectures, the reference gpt2_small and l2_d1920 with both seeds; smaller
budgets of 2.5 M tokens, ranked in reverse, and 5 M, ranked as at the full budget; one killed run
with an empty train JSON, one with only train_proxy.sh's .tmp file) and a cosine run of the same
budget. Checks: the Spearman and Kendall's tau of the two budgets (-1 and 1), the agreement of the
"within 3%" verdicts, the training FLOPs per token, the one inversion of the decoder-parameter
proxy, the fastest architecture within 3% of the reference and its speed-ups, the seed noise, wsd
against cosine, the failed run listed, the usage error (exit 2, one line), the old train JSON
format (no schedule, no budgets) of docs/results, and a longer wsd training of two architectures
chosen by --tokens, the 10 M trainings folded in as its smaller budgets. Exit 0 when all pass.
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
SCRIPT = os.path.join(ROOT, "benchmarks", "budget_report.py")
OLD = os.path.join(ROOT, "docs", "results", "training_h200_2026-11-29", "t10m")
VOCAB, SEQ = 32768, 512
B1, B2, FULL = 2506752, 5013504, 10010624  # the budgets' tokens, 153, 306 and 611 steps of 32 x 512

# name: layers, width, d_embed, decoder params, decode ms, prefill ms, full ppl per seed, ppl at B1
ARCHS = {
    "gpt2_small": (12, 768, 768, 85056000, 0.438, 0.850, {1: 150.0, 2: 153.0}, 300.0),
    "l2_d1920": (2, 1920, 1920, 88473600, 0.200, 0.600, {1: 151.0, 2: 153.0}, 280.0),
    "l4_d1024": (4, 1024, 1024, 50331648, 0.150, 0.400, {1: 155.0}, 260.0),
    "l3_d1280_e256": (3, 1280, 256, 58982400, 0.100, 0.300, {1: 160.0}, 240.0),  # faster, but 5.6% worse
    "l8_d512": (8, 512, 512, 25165824, 0.300, 0.500, {1: 170.0}, 220.0),
    "l24_d256": (24, 256, 256, 18874368, 0.900, 1.100, {1: 190.0}, 200.0),
}


def arch_string(layers, width, embed):
    return (f"n_layer={layers} d_model={width} d_inner={','.join([str(4 * width)] * layers)} "
            f"n_head={','.join([str(width // 64)] * layers)} vocab={VOCAB} context=1024" + (f" d_embed={embed}" if embed != width else ""))


def train_json(name, seed, schedule, ppl, budgets, budget=10000000, tokens=FULL):
    layers, width, embed, decoder = ARCHS[name][:4]
    total = decoder + VOCAB * embed + (2 * embed * width if embed != width else 0)
    recipe = {"tokens": budget, "batch": 32, "seq_len": SEQ, "lr": 0.0006, "seed": seed, "schedule": schedule}
    return {"status": "ok", "message": "", "architecture": arch_string(layers, width, embed), "decoder_params": decoder,
            "total_params": total, "vocab": VOCAB, "recipe": recipe, "steps": tokens // (32 * SEQ), "tokens": tokens,
            "tokens_per_second": 400000.0, "steady_tokens_per_second": 410000.0,
            "checkpoints": [{"step": 611, "tokens": FULL, "train_loss": 5.0, "val_loss": 5.0, "val_perplexity": ppl, "seconds": 30.0}],
            "final_val_perplexity": ppl,
            "budgets": [{"budget": round(t, -5), "tokens": t, "steps": t // (32 * SEQ), "train_loss": 5.5, "val_loss": 5.4,
                         "val_perplexity": p, "seconds": 9.0} for t, p in budgets]}


def eval_json(name):
    layers, width, embed, decoder, decode, prefill = ARCHS[name][:6]
    return {"status": "ok", "message": "", "architecture": arch_string(layers, width, embed), "grad_norm": 5.0 + layers / 2,
            "decoder_params": decoder, "prefill": {"median_ms": prefill}, "decode": {"median_ms": decode}}


def write(path, obj):
    with open(path, "w") as f:
        f.write(json.dumps(obj) if obj is not None else "")


def run(*args):
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True)


def table(out, first_header):
    """The rows of the markdown table whose header starts with first_header, as dicts by header cell."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| " + first_header + " |"))
    header = [c.strip() for c in lines[start].strip("|").split("|")]
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append(dict(zip(header, (c.strip() for c in line.strip("|").split("|")))))
    return rows


class BudgetReport(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        folders = [os.path.join(cls.tmp.name, d) for d in ("seed1", "seed2", "cosine")]
        for folder in folders:
            os.mkdir(folder)
        for name, (*_, seeds, at_b1) in ARCHS.items():
            for seed, ppl in seeds.items():
                folder = folders[seed - 1]
                # B1 ranks the models in reverse, B2 as the full budget does (1.2 x its ppl)
                write(os.path.join(folder, f"train_{name}.json"), train_json(name, seed, "wsd", ppl, [(B1, at_b1), (B2, 1.2 * ppl)]))
                write(os.path.join(folder, f"eval_{name}.json"), eval_json(name))
        write(os.path.join(folders[0], "train_l16_d640.json"), None)  # killed: an empty train JSON
        write(os.path.join(folders[0], "eval_l16_d640.json"), None)
        write(os.path.join(folders[1], "train_l8_d512.json.tmp"), None)  # killed under train_proxy.sh's .tmp file
        write(os.path.join(folders[1], "eval_l8_d512.json"), eval_json("l8_d512"))
        write(os.path.join(folders[2], "train_gpt2_small.json"), train_json("gpt2_small", 1, "cosine", 155.0, []))
        # two architectures trained further (20 M tokens, no eval JSON of their own), in reverse order
        cls.longer = os.path.join(cls.tmp.name, "longer")
        os.mkdir(cls.longer)
        for name, ppl in (("gpt2_small", 100.0), ("l4_d1024", 110.0)):
            write(os.path.join(cls.longer, f"train_{name}.json"), train_json(name, 1, "wsd", ppl, [], 20000000, 2 * FULL))
        r = run(*folders)
        cls.rc, cls.out, cls.err = r.returncode, r.stdout, r.stderr

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_runs(self):
        self.assertEqual(self.rc, 0, self.err)
        self.assertIn("# wsd runs at 10M tokens", self.out)
        rows = {r["model"]: r for r in table(self.out, "model | layers")}
        self.assertEqual(list(rows), ["gpt2_small", "l2_d1920", "l4_d1024", "l3_d1280_e256", "l8_d512", "l24_d256"])  # by mean ppl
        self.assertEqual(rows["gpt2_small"]["seeds"], "2")
        self.assertEqual(rows["gpt2_small"]["ppl full"], "151.50")
        self.assertEqual(rows["gpt2_small"]["ppl @ 2.51M"], "300.00")
        self.assertEqual(rows["l3_d1280_e256"]["d_embed"], "256")
        # 6 (decoder + tied output) + 12 n_layer d_model seq_len, the narrow table's two projections counted
        self.assertEqual(rows["gpt2_small"]["train MFLOP/token"], f"{(6 * (85056000 + VOCAB * 768) + 12 * 12 * 768 * SEQ) / 1e6:.0f}")
        flops = 6 * (58982400 + VOCAB * 256 + 2 * 256 * 1280) + 12 * 3 * 1280 * SEQ
        self.assertEqual(rows["l3_d1280_e256"]["train MFLOP/token"], f"{flops / 1e6:.0f}")

    def test_failed_listed(self):
        failed = table(self.out, "model | folder")
        self.assertEqual([r["model"] for r in failed], ["l16_d640", "l8_d512"])
        self.assertIn("failed: empty output", failed[0]["why"])
        self.assertIn("failed: killed (only its .tmp file)", failed[1]["why"])

    def test_budgets_rank(self):
        rows = {r["budget"]: r for r in table(self.out, "budget")}
        self.assertEqual((rows["2.51M"]["Spearman"], rows["2.51M"]["Kendall tau-b"]), ("-1.000", "-1.000"))
        self.assertEqual((rows["5.01M"]["Spearman"], rows["5.01M"]["Kendall tau-b"]), ("1.000", "1.000"))
        self.assertEqual(rows["5.01M"]["mean ppl(b)/ppl(full)"], "1.200")
        self.assertEqual(rows["5.01M"]["max abs(ratio(b) - ratio(full))"], "0.0000")  # the ratio does not move
        self.assertEqual(rows["5.01M"]["within 3% as at full"], "5/5")
        self.assertEqual(rows["2.51M"]["within 3% as at full"], "2/5")  # l2_d1920 and l4_d1024 within at both
        self.assertIn("The smallest budget with Spearman >= 0.9: 5.01M", self.out)
        self.assertIn("for every model from 5.01M on", self.out)

    def test_proxy(self):
        rows = {r["predictor"]: r for r in table(self.out, "predictor")}
        self.assertIn("all (6)", rows["decoder params"])
        # ranks of n_layer against -ppl: (5,6) (1,5) (3,4) (2,3) (4,2) (6,1), sum of d^2 48: 1 - 6 x 48 / 210
        self.assertEqual(rows["n_layer"]["all (6)"], f"{1 - 6 * 48 / 210:.3f}")
        self.assertIn("1 pair(s)", self.out)  # l3_d1280_e256 has more parameters than l4_d1024 and is 3.2% worse
        inv = table(self.out, "more params")
        self.assertEqual((inv[0]["more params"], inv[0]["fewer params"], inv[0]["worse by"]), ("l3_d1280_e256", "l4_d1024", "3.2%"))

    def test_answer(self):
        rows = table(self.out, "model | ppl / reference")
        self.assertEqual([r["model"] for r in rows], ["l4_d1024", "l2_d1920", "gpt2_small"])  # by decode latency
        self.assertEqual(rows[1]["ppl per seed"], "s1: 151.00, s2: 153.00")
        self.assertIn("The fastest within 3%: l4_d1024", self.out)
        self.assertIn(f"decode {0.438 / 0.150:.2f}x and prefill {0.850 / 0.400:.2f}x faster than gpt2_small", self.out)
        self.assertIn(f"Seed noise of the reference: {100 * 3 / 151.5:.2f}%", self.out)

    def test_wsd_against_cosine(self):
        rows = table(self.out, "model | ppl wsd")
        self.assertEqual([(r["model"], r["ppl cosine"], r["wsd/cosine - 1"]) for r in rows],
                         [("gpt2_small", "155.00", f"{100 * (151.5 / 155 - 1):+.2f}%")])

    def test_reference_option(self):
        r = run("--reference", "l2_d1920", os.path.join(self.tmp.name, "seed1"), os.path.join(self.tmp.name, "seed2"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("within 3% of l2_d1920", r.stdout)

    def test_larger_budget(self):
        # --tokens picks the group; the 10 M trainings (and their branches) are its smaller budgets
        folders = [os.path.join(self.tmp.name, d) for d in ("seed1", "seed2", "longer")]
        r = run("--tokens", "20000000", *folders)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("# wsd runs at 20M tokens", r.stdout)
        rows = {row["model"]: row for row in table(r.stdout, "model | layers")}
        self.assertEqual(list(rows), ["gpt2_small", "l4_d1024"])
        self.assertEqual((rows["gpt2_small"]["ppl @ 10M"], rows["gpt2_small"]["ppl @ 2.51M"]), ("151.50", "300.00"))
        self.assertEqual(rows["l4_d1024"]["ppl @ 10M"], "155.00")
        self.assertEqual(rows["l4_d1024"]["decode ms"], "0.1500")  # its eval JSON is in the 10 M study's folder
        ranks = {row["budget"]: row for row in table(r.stdout, "budget")}
        self.assertEqual(ranks["10M"]["models"], "2")
        self.assertEqual(ranks["10M"]["mean abs(ratio(b) - ratio(full))"], f"{abs(155 / 151.5 - 110 / 100):.4f}")
        for bad in ("7", "abc"):
            r = run("--tokens", bad, *folders)
            self.assertEqual(r.returncode, 2, bad)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn("those there: 10000000, 20000000", run("--tokens", "7", *folders).stderr)

    def test_usage(self):
        for args in ((), ("--reference", "gpt2_small"), (os.path.join(self.tmp.name, "missing"),)):
            r = run(*args)
            self.assertEqual(r.returncode, 2, args)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
            self.assertEqual(r.stdout, "")

    @unittest.skipUnless(os.path.isdir(OLD), "docs/results' t10m folder is absent")
    def test_old_format(self):
        r = run(OLD)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("# cosine runs at 10M tokens (no wsd runs", r.stdout)
        self.assertIn("## The proxy at the full budget", r.stdout)
        self.assertNotIn("## How budgets rank", r.stdout)
        self.assertIn("| l24_d512 |", r.stdout)  # an eval JSON without its train JSON: listed as failed
        self.assertIn("The fastest within 3%:", r.stdout)


if __name__ == "__main__":
    unittest.main()
