"""How far call 1 and call 2 (the same 56 evaluations, the same machine) differ, and the spread
within call 1's timings. From the repository root:
    python3 docs/results/blocks_1b_h100_2026-12-05/compare.py
"""
import json
import pathlib
import statistics

here = pathlib.Path(__file__).parent
rows = {}
for call in ("call1", "call2"):
    for line in (here / call / "blocks_1b" / "llama_1b_options.jsonl").open():
        try:
            j = json.loads(line)
        except json.JSONDecodeError:
            continue
        phase = "decode" if j["decode"] else "prefill"
        key = (j["architecture"], phase, j["decode_batch"], j["decode_context"], j["prefill_tokens"])
        m = j[phase]
        rows.setdefault(key, []).append((m["median_ms"], m["q1_ms"], m["q3_ms"]))
pairs = [abs(v[1][0] - v[0][0]) / v[0][0] * 100 for v in rows.values() if len(v) == 2]
iqr = [(v[0][2] - v[0][1]) / v[0][0] * 100 for v in rows.values()]
print(f"{len(rows)} evaluations, {len(pairs)} in both calls")
print(f"call 2 against call 1 (median ms): median {statistics.median(pairs):.2f}%, max {max(pairs):.2f}%")
print(f"call 1's interquartile range / median: median {statistics.median(iqr):.2f}%, max {max(iqr):.2f}%")
