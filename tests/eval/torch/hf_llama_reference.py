"""Writes Hugging Face Llama reference logits for the fracnas LibTorch model's block options.

Usage: python hf_llama_reference.py OUT.pt
Builds small LlamaForCausalLM models with random weights (every parameter randomised, RMSNorm
weights included): one with grouped KV heads, an untied head and no biases, one with one KV head
per query head, a tied head and biases in every linear (attention_bias, mlp_bias); both RMSNorm
(eps 1e-5), SwiGLU and rotary positions (theta 10,000). Saves, with torch.save, a dict per model:
its architecture as fracnas's canonical text, its weights under fracnas's parameter names (q|k|v
stacked in c_attn, gate|up in mlp.c_fc), token ids, and the reference logits in float32.
"""
import sys

import torch
from transformers import LlamaConfig, LlamaForCausalLM

VOCAB, CONTEXT = 300, 64
MODELS = {
    # name: (layers, hidden, intermediate, heads, kv heads, tied, biases)
    "grouped_untied": (2, 64, 160, 4, 2, False, False),
    "tied_biases": (2, 64, 96, 4, 4, True, True),
}


def canonical(layers, hidden, inter, heads, kv, tied, biases):
    text = (f"n_layer={layers} d_model={hidden} d_inner={','.join([str(inter)] * layers)} "
            f"n_head={','.join([str(heads)] * layers)} vocab={VOCAB} context={CONTEXT} norm=rmsnorm mlp=swiglu positions=rotary")
    if kv != heads:
        text += " n_kv_head=" + ",".join([str(kv)] * layers)
    if not tied:
        text += " output=untied"
    if not biases:
        text += " bias=off"
    return text


def fracnas_weights(model, layers, tied, biases):
    m = model.model
    w = {"wte.weight": m.embed_tokens.weight, "ln_f.weight": m.norm.weight}
    if not tied:
        w["lm_head.weight"] = model.lm_head.weight
    for l, layer in enumerate(m.layers):
        a, mlp = layer.self_attn, layer.mlp
        w[f"h.{l}.ln_1.weight"] = layer.input_layernorm.weight
        w[f"h.{l}.ln_2.weight"] = layer.post_attention_layernorm.weight
        w[f"h.{l}.attn.c_attn.weight"] = torch.cat([a.q_proj.weight, a.k_proj.weight, a.v_proj.weight])
        w[f"h.{l}.attn.c_proj.weight"] = a.o_proj.weight
        w[f"h.{l}.mlp.c_fc.weight"] = torch.cat([mlp.gate_proj.weight, mlp.up_proj.weight])
        w[f"h.{l}.mlp.c_proj.weight"] = mlp.down_proj.weight
        if biases:
            w[f"h.{l}.attn.c_attn.bias"] = torch.cat([a.q_proj.bias, a.k_proj.bias, a.v_proj.bias])
            w[f"h.{l}.attn.c_proj.bias"] = a.o_proj.bias
            w[f"h.{l}.mlp.c_fc.bias"] = torch.cat([mlp.gate_proj.bias, mlp.up_proj.bias])
            w[f"h.{l}.mlp.c_proj.bias"] = mlp.down_proj.bias
    return {k: v.detach().float().contiguous() for k, v in w.items()}


def build(name, layers, hidden, inter, heads, kv, tied, biases):
    torch.manual_seed(5)
    cfg = LlamaConfig(vocab_size=VOCAB, hidden_size=hidden, intermediate_size=inter, num_hidden_layers=layers,
                      num_attention_heads=heads, num_key_value_heads=kv, max_position_embeddings=CONTEXT, rms_norm_eps=1e-5,
                      rope_theta=10000.0, tie_word_embeddings=tied, attention_bias=biases, mlp_bias=biases,
                      attention_dropout=0.0, hidden_act="silu", attn_implementation="eager", bos_token_id=0, eos_token_id=0)
    model = LlamaForCausalLM(cfg).eval()
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if "norm" in pname:
                p.normal_(1.0, 0.1)
            else:
                p.normal_(0.0, 0.05)
    idx = torch.randint(0, VOCAB, (2, 23))
    with torch.no_grad():
        logits = model(idx).logits.float()
    return {"arch": canonical(layers, hidden, inter, heads, kv, tied, biases),
            "weights": fracnas_weights(model, layers, tied, biases), "idx": idx, "logits": logits}


def main():
    out = {name: build(name, *spec) for name, spec in MODELS.items()}
    torch.save(out, sys.argv[1])


if __name__ == "__main__":
    main()
