"""The Llama-3.2-1B shape with one block option changed back at a time, as a Markdown table.

python3 table.py RESULTS.jsonl: one row per block (medians in ms: decode at batch x cached tokens,
prefill 1 x 1,024), then each row against Llama-3.2-1B's own block (or the first row, if it has none) in percent.
"""
import json
import sys

BASE = ["norm=rmsnorm", "mlp=swiglu", "positions=rotary", "n_kv_head=8", "bias=off"]
NAMES = {"norm=rmsnorm": "norm=layernorm", "mlp=swiglu": "mlp=gelu (same FFN width)",
         "positions=rotary": "positions=learned", "n_kv_head=8": "32 KV heads (one per query head)",
         "bias=off": "bias=on"}
COLS = [(1, 1023), (1, 4095), (8, 1023), (8, 4095), (32, 1023), (32, 4095), "prefill"]


def block_of(arch):
    words = [w.split(",")[0] for w in arch.split("context=4096")[-1].split()]
    gone = [NAMES[w] for w in BASE if w not in words]
    extra = [w for w in words if w not in BASE]
    return ", ".join(gone + extra) or "Llama-3.2-1B's block"


rows, kv, params, failed = {}, {}, {}, []
for line in open(sys.argv[1]):
    try:
        r = json.loads(line)
    except ValueError:
        continue
    name = block_of(r["architecture"])
    if r["status"] != "ok":
        failed.append(f"{name}: {r['status']}: {r['message']}")
        continue
    params[name] = r["total_params"]
    if r.get("prefill"):
        rows.setdefault(name, {})["prefill"] = r["prefill"]["median_ms"]
    if r.get("decode"):
        key = (r["decode_batch"], r["decode_context"])
        rows.setdefault(name, {})[key] = r["decode"]["median_ms"]
        kv.setdefault(name, {})[key] = r["kv_cache_bytes"]

head = "| block | params | " + " | ".join(
    "prefill 1x1024" if c == "prefill" else f"decode {c[0]}x{c[1]}" for c in COLS) + " |"
print(head)
print("|---" * (len(COLS) + 2) + "|")
# Llama-3.2-1B's own block first: the row the others are read against
names = sorted(rows, key=lambda n: n != "Llama-3.2-1B's block")
for n in names:
    cells = [f"{rows[n][c]:.4f}" if c in rows[n] else "-" for c in COLS]
    print(f"| {n} | {params[n] / 1e6:,.1f} M | " + " | ".join(cells) + " |")
if names:
    ref = rows[names[0]]
    print()
    print(f"against {names[0]}, in percent:")
    print()
    print(head)
    print("|---" * (len(COLS) + 2) + "|")
    for n in names[1:]:
        cells = [f"{100 * (rows[n][c] / ref[c] - 1):+.1f}%" if c in rows[n] and c in ref else "-" for c in COLS]
        print(f"| {n} | {100 * (params[n] / params[names[0]] - 1):+.1f}% | " + " | ".join(cells) + " |")
    print()
    print("KV cache (MiB) at 1x1023 and 32x4095: " + "; ".join(
        f"{n}: {kv[n].get((1, 1023), 0) / 2**20:,.0f} / {kv[n].get((32, 4095), 0) / 2**20:,.0f}" for n in kv))
for f in failed:
    print("failed:", f)
