"""Writes Hugging Face GPT-2 reference logits for the fracnas LibTorch model test.

Usage: python hf_gpt2_reference.py OUT.pt
Builds small GPT-2 models with random weights (every parameter randomised, LayerNorms and biases
included): a homogeneous one with transformers' GPT2LMHeadModel, and a heterogeneous one whose
blocks are transformers' own GPT2Block built layer by layer with different widths and head
counts. Saves, with torch.save, a dict per model: its architecture, its weights under fracnas's
parameter names (nn.Linear layout: Conv1D weights transposed), token ids, and the reference
logits in float32.
"""
import sys

import torch
from transformers import GPT2Config, GPT2LMHeadModel
from transformers.models.gpt2.modeling_gpt2 import GPT2Block

VOCAB, CONTEXT = 1000, 64


def randomise(module):
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name.endswith("ln_f.weight"):
                p.normal_(1.0, 0.1)
            else:
                p.normal_(0.0, 0.05)


def config(n_embd, n_head, n_inner, n_layer):
    return GPT2Config(vocab_size=VOCAB, n_positions=CONTEXT, n_embd=n_embd, n_layer=n_layer, n_head=n_head,
                      n_inner=n_inner, activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0,
                      attn_pdrop=0.0, layer_norm_epsilon=1e-5, attn_implementation="eager",
                      bos_token_id=0, eos_token_id=0)


def fracnas_names(named_params):
    """HF names -> fracnas names; Conv1D (in, out) weights -> nn.Linear (out, in)."""
    out = {}
    for name, p in named_params:
        name = name.removeprefix("transformer.")
        t = p.detach().float()
        if t.dim() == 2 and any(k in name for k in ("c_attn", "c_proj", "c_fc")):
            t = t.t()
        out[name] = t.contiguous()
    return out


def homogeneous():
    torch.manual_seed(1)
    d, n_layer, n_head = 128, 3, 4
    model = GPT2LMHeadModel(config(d, n_head, 4 * d, n_layer)).eval()
    randomise(model.transformer)
    idx = torch.randint(0, VOCAB, (2, 23))
    with torch.no_grad():
        logits = model(idx).logits.float()
    arch = {"n_layer": n_layer, "d_model": d, "d_inner": [4 * d] * n_layer, "n_head": [n_head] * n_layer}
    return arch, fracnas_names(model.transformer.named_parameters()), idx, logits


def heterogeneous():
    torch.manual_seed(2)
    d, d_inner, n_head = 96, [200, 384, 136], [2, 8, 3]
    wte, wpe = torch.nn.Embedding(VOCAB, d), torch.nn.Embedding(CONTEXT, d)
    blocks = [GPT2Block(config(d, n_head[l], d_inner[l], 1), layer_idx=0).eval() for l in range(3)]
    ln_f = torch.nn.LayerNorm(d, eps=1e-5)
    params = [("wte.weight", wte.weight), ("wpe.weight", wpe.weight)]
    for l, b in enumerate(blocks):
        randomise(b)
        params += [(f"h.{l}.{n}", p) for n, p in b.named_parameters()]
    with torch.no_grad():
        wte.weight.normal_(0.0, 0.05)
        wpe.weight.normal_(0.0, 0.05)
        ln_f.weight.normal_(1.0, 0.1)
        ln_f.bias.normal_(0.0, 0.05)
    params += [("ln_f.weight", ln_f.weight), ("ln_f.bias", ln_f.bias)]
    idx = torch.randint(0, VOCAB, (2, 19))
    with torch.no_grad():
        x = wte(idx) + wpe(torch.arange(idx.size(1)))
        # GPT2Model builds the causal mask and hands it to its blocks; a block alone needs it given
        T = idx.size(1)
        causal = torch.full((T, T), float("-inf")).triu(1)[None, None]  # (1, 1, T, T)
        for b in blocks:
            out = b(x, attention_mask=causal)
            x = out[0] if isinstance(out, tuple) else out
        logits = (ln_f(x) @ wte.weight.t()).float()
    arch = {"n_layer": 3, "d_model": d, "d_inner": d_inner, "n_head": n_head}
    return arch, fracnas_names(params), idx, logits


def pack(arch, weights, idx, logits):
    out = {"weights": weights, "idx": idx, "logits": logits}
    out["arch"] = torch.tensor([arch["n_layer"], arch["d_model"], VOCAB, CONTEXT] + arch["d_inner"] + arch["n_head"])
    return out


if __name__ == "__main__":
    torch.save({"homogeneous": pack(*homogeneous()), "heterogeneous": pack(*heterogeneous())}, sys.argv[1])
