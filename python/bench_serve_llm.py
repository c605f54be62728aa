"""Aggregate decode throughput of `scenarios serve-llm`: N concurrent chat completions.

    cargo build --release -p scenarios
    RAYON_NUM_THREADS=2 python3 python/bench_serve_llm.py target/release/scenarios --requests 32

Starts the server on a free port, warms it up with one request, then sends `--requests`
requests at once (one thread each, greedy, `--max-tokens` each, distinct prompts) and prints
one JSON line: completion tokens over the wall time from the first send to the last answer
(pre-fills, HTTP and JSON included), the largest batch the server decoded, and the best of
`--repetitions` rounds. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor


def post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.load(response)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--requests", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--repetitions", type=int, default=3)
    args = parser.parse_args()
    server = subprocess.Popen([args.binary, "serve-llm", "--addr", "127.0.0.1:0"], stdout=subprocess.PIPE, text=True)
    try:
        base = "http://" + server.stdout.readline().removeprefix("listening on ").strip()
        url = base + "/v1/chat/completions"

        def ask(i: int) -> dict:
            return post(url, {
                "model": "SmolLM2-135M-Instruct",
                "messages": [{"role": "user", "content": f"Write a long story about a robot named Unit {i}."}],
                "max_tokens": args.max_tokens,
                "temperature": 0,
            })

        ask(0)
        best = None
        for _ in range(args.repetitions):
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=args.requests) as pool:
                answers = list(pool.map(ask, range(args.requests)))
            seconds = time.perf_counter() - started
            tokens = sum(answer["usage"]["completion_tokens"] for answer in answers)
            sample = {"seconds": seconds, "completion_tokens": tokens, "tokens_per_second": tokens / seconds}
            if best is None or sample["tokens_per_second"] > best["tokens_per_second"]:
                best = sample
        with urllib.request.urlopen(base + "/stats", timeout=30) as response:
            stats = json.load(response)
        print(json.dumps({
            "bench": "serve-llm-concurrent",
            "requests": args.requests,
            "max_tokens": args.max_tokens,
            **best,
            "largest_batch": stats["generator"]["largest_batch"],
        }))
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
