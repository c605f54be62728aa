"""llama.cpp on the same GGUF and the same workload as `scenarios bench-llm`, for docs/benchmarks.md.

Decodes 64 greedy tokens after the same 42-token prompt for 1, 8 and 32 sequences (one
`llama_decode` per step for all sequences, each sequence its own `seq_id`), best of 3, on one
thread, and prints JSON lines shaped like bench-llm's `llm-decode` lines.

    python3 -m venv .venv-llama && .venv-llama/bin/pip install llama-cpp-python==0.3.36
    .venv-llama/bin/python python/bench_llama_cpp.py .cache/models/SmolLM2-135M-Instruct.Q8_0.gguf

(pip builds llama.cpp from source for the machine's CPU; about 90 minutes on 2 shared cores.)
"""

import ctypes
import json
import sys
import time

import llama_cpp as L
import numpy as np

PROMPT = (
    "<|im_start|>system\nLet's play Twenty Questions. I am thinking of an everyday object. Ask me yes/no "
    "questions, one per turn.<|im_end|>\n<|im_start|>user\nYour turn.<|im_end|>\n<|im_start|>assistant\n"
)
NEW_TOKENS = 64
REPETITIONS = 3


def tokenize(vocab, text):
    raw = text.encode()
    ids = (L.llama_token * (len(raw) + 8))()
    count = L.llama_tokenize(vocab, raw, len(raw), ids, len(ids), False, True)
    return list(ids[:count])


def add(batch, token, position, sequence, logits):
    i = batch.n_tokens
    batch.token[i] = token
    batch.pos[i] = position
    batch.n_seq_id[i] = 1
    batch.seq_id[i][0] = sequence
    batch.logits[i] = logits
    batch.n_tokens = i + 1


def main(path, batches=(1, 8, 32)):
    L.llama_backend_init()
    model = L.llama_model_load_from_file(path.encode(), L.llama_model_default_params())
    vocab = L.llama_model_get_vocab(model)
    n_vocab = L.llama_vocab_n_tokens(vocab)
    prompt = tokenize(vocab, PROMPT)
    for size in batches:
        params = L.llama_context_default_params()
        params.n_ctx = 256 * size
        params.n_batch = max(512, len(prompt) * size)
        params.n_ubatch = params.n_batch
        params.n_seq_max = size
        params.n_threads = 1
        params.n_threads_batch = 1
        context = L.llama_init_from_model(model, params)
        batch = L.llama_batch_init(params.n_batch, 0, size)
        best = (0.0, 0.0)
        for _ in range(REPETITIONS):
            L.llama_memory_clear(L.llama_get_memory(context), True)
            batch.n_tokens = 0
            started = time.perf_counter()
            for sequence in range(size):
                for position, token in enumerate(prompt):
                    add(batch, token, position, sequence, position == len(prompt) - 1)
            assert L.llama_decode(context, batch) == 0
            prefill = time.perf_counter() - started
            started = time.perf_counter()
            rows = [len(prompt) * (s + 1) - 1 for s in range(size)]
            for step in range(NEW_TOKENS):
                next_tokens = []
                for row in rows:
                    logits = np.ctypeslib.as_array(L.llama_get_logits_ith(context, row), shape=(n_vocab,))
                    next_tokens.append(int(np.argmax(logits)))
                batch.n_tokens = 0
                for sequence, token in enumerate(next_tokens):
                    add(batch, token, len(prompt) + step, sequence, True)
                assert L.llama_decode(context, batch) == 0
                rows = list(range(size))
            decode = time.perf_counter() - started
            sample = (size * NEW_TOKENS / decode, size * len(prompt) / prefill)
            best = (max(best[0], sample[0]), max(best[1], sample[1]))
        L.llama_batch_free(batch)
        L.llama_free(context)
        print(json.dumps({
            "bench": "llama.cpp-decode",
            "llama_cpp_python": L.__version__,
            "threads": 1,
            "batch": size,
            "prompt_tokens": len(prompt),
            "new_tokens_per_sequence": NEW_TOKENS,
            "tokens_per_second": best[0],
            "prefill_tokens_per_second": best[1],
        }), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
