"""`scenarios serve-llm` through the official `openai` client: logprobs, seeds, batching."""

from __future__ import annotations

import json
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest

MODEL = "SmolLM2-135M-Instruct"


@pytest.fixture(scope="module")
def client(serve_llm):
    return openai.OpenAI(base_url=serve_llm + "/v1", api_key="unused", max_retries=0, timeout=300)


def stats(base_url: str) -> dict:
    with urllib.request.urlopen(base_url + "/stats", timeout=30) as response:
        return json.load(response)


def test_models_and_a_completion_with_logprobs_and_token_ids(client):
    assert [model.id for model in client.models.list().data] == [MODEL]
    completion = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Name a colour."}],
        max_tokens=8,
        temperature=0.7,
        seed=1,
        logprobs=True,
        top_logprobs=2,
        extra_body={"return_token_ids": True},
    )
    assert completion.object == "chat.completion" and completion.created == 0 and completion.model == MODEL
    choice = completion.choices[0]
    assert choice.message.role == "assistant" and choice.finish_reason in ("stop", "length")
    content = choice.logprobs.content
    token_ids = choice.model_extra["token_ids"]
    assert len(content) == len(token_ids) == completion.usage.completion_tokens
    assert len(completion.model_extra["prompt_token_ids"]) == completion.usage.prompt_tokens
    for entry in content:
        assert entry.logprob <= 0.0 and bytes(entry.bytes).decode("utf-8", "replace") == entry.token
        assert 1 <= len(entry.top_logprobs) <= 2
        assert entry.top_logprobs[0].logprob >= entry.top_logprobs[-1].logprob
    text = b"".join(bytes(entry.bytes) for entry in content if entry.token != "<|im_end|>").decode()
    assert text == choice.message.content


def test_the_same_seed_gives_the_same_text(client):
    request = dict(
        model=MODEL,
        messages=[{"role": "user", "content": "Tell me a short story about a fox."}],
        max_tokens=16,
        temperature=1.0,
        top_p=0.95,
        seed=42,
    )
    first = client.chat.completions.create(**request)
    second = client.chat.completions.create(**request)
    assert first.choices[0].message.content == second.choices[0].message.content
    several = client.chat.completions.create(**request, n=3)
    assert several.choices[0].message.content == first.choices[0].message.content
    assert len({choice.message.content for choice in several.choices}) > 1, "choices draw from their own streams"


def test_32_concurrent_requests_are_answered_in_shared_batches(client, serve_llm):
    def ask(i: int):
        return client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": f"Say something about the number {i}."}],
            max_tokens=8,
            temperature=0.8,
            seed=i,
        )

    with ThreadPoolExecutor(max_workers=32) as pool:
        answers = list(pool.map(ask, range(32)))
    assert all(answer.choices[0].finish_reason in ("stop", "length") for answer in answers)
    assert stats(serve_llm)["generator"]["largest_batch"] > 1
    # A request answered inside a batch of 32 is answered the same alone.
    for i in (0, 17, 31):
        assert ask(i).choices[0].message.content == answers[i].choices[0].message.content


def test_streaming_and_unknown_roles_are_refused_with_400(client):
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}], stream=True)
    assert refused.value.param == "stream"
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=MODEL, messages=[{"role": "tool", "content": "x", "tool_call_id": "1"}])
