"""Prints the parameter counts of Hugging Face transformers' LlamaForCausalLM for the configurations
of tests/nas/blocks.tests.cpp, built on the meta device (no memory): one line per configuration,
`name total embed attention mlp norms lm_head`, each the sum of its modules' parameters.

Usage: python hf_llama_counts.py
"""
import torch
from transformers import LlamaConfig, LlamaForCausalLM

CONFIGS = {
    # name: (layers, hidden, intermediate, heads, kv heads, vocab, tied, attention_bias, mlp_bias)
    "smollm2-135m": (30, 576, 1536, 9, 3, 49152, True, False, False),
    "smollm2-360m": (32, 960, 2560, 15, 5, 49152, True, False, False),
    "llama-3.2-1b": (16, 2048, 8192, 32, 8, 128256, True, False, False),
    "untied-biases": (3, 256, 704, 8, 2, 1000, False, True, True),
    "ungrouped": (2, 128, 384, 4, 4, 500, True, False, False),
}


def main():
    for name, (layers, hidden, inter, heads, kv, vocab, tied, attention_bias, mlp_bias) in CONFIGS.items():
        cfg = LlamaConfig(num_hidden_layers=layers, hidden_size=hidden, intermediate_size=inter, num_attention_heads=heads,
                          num_key_value_heads=kv, vocab_size=vocab, tie_word_embeddings=tied, attention_bias=attention_bias,
                          mlp_bias=mlp_bias, max_position_embeddings=2048)
        with torch.device("meta"):
            model = LlamaForCausalLM(cfg)
        parts = {"embed": 0, "attention": 0, "mlp": 0, "norms": 0, "lm_head": 0}
        # named_parameters lists a tied lm_head once, under embed_tokens
        for pname, p in model.named_parameters():
            part = ("embed" if "embed_tokens" in pname else "attention" if ".self_attn." in pname else "mlp" if ".mlp." in pname
                    else "norms" if "norm" in pname else "lm_head" if "lm_head" in pname else None)
            if part is None:
                raise SystemExit(f"{name}: unexpected parameter {pname}")
            parts[part] += p.numel()
        total = sum(p.numel() for p in model.parameters())
        print(name, total, parts["embed"], parts["attention"], parts["mlp"], parts["norms"], parts["lm_head"])


if __name__ == "__main__":
    main()
