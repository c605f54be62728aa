//! End-to-end tests of `scenarios serve-llm`: the real binary serving SmolLM2-135M-Instruct
//! (from the model cache, fetched on first use) on a free loopback port, driven by a small
//! HTTP/1.1 client. Completions are short (a few tokens) so the file runs in seconds.

use std::time::Duration;

use serde_json::{Value, json};

use crate::served::Served;

/// A running `scenarios serve-llm`; killed when dropped.
struct Endpoint {
    served: Served,
}

impl Endpoint {
    fn start(extra: &[&str]) -> Self {
        let args: Vec<&str> = ["serve-llm"].into_iter().chain(extra.iter().copied()).collect();
        Self { served: Served::start(&args, &[("RAYON_NUM_THREADS", "2")], Duration::from_secs(120)) }
    }

    fn request(&self, method: &str, path: &str, body: &[u8]) -> (u16, Value) {
        self.served.request(method, path, body)
    }

    fn chat(&self, body: &Value) -> (u16, Value) {
        self.request("POST", "/v1/chat/completions", body.to_string().as_bytes())
    }
}

fn question(text: &str, seed: u64, max_tokens: u64) -> Value {
    json!({
        "model": "SmolLM2-135M-Instruct",
        "messages": [{"role": "user", "content": text}],
        "temperature": 0.8,
        "max_tokens": max_tokens,
        "seed": seed,
        "return_token_ids": true,
    })
}

#[test]
fn completions_have_openai_s_shape_logprobs_and_token_ids() {
    let endpoint = Endpoint::start(&[]);
    let (status, models) = endpoint.request("GET", "/v1/models", b"");
    assert_eq!(status, 200);
    assert_eq!(
        models,
        json!({"object": "list", "data": [{"id": "SmolLM2-135M-Instruct", "object": "model", "created": 0, "owned_by": "lm-gym"}]})
    );
    let (status, completion) = endpoint.chat(&json!({
        "model": "SmolLM2-135M-Instruct",
        "messages": [
            {"role": "system", "content": "Answer in one word."},
            {"role": "user", "content": [{"type": "text", "text": "What colour is the sky?"}]},
        ],
        "temperature": 0,
        "max_completion_tokens": 6,
        "logprobs": true,
        "top_logprobs": 3,
        "n": 2,
        "return_token_ids": true,
    }));
    assert_eq!(status, 200, "{completion}");
    assert_eq!(completion["object"], "chat.completion");
    assert_eq!(completion["created"], 0);
    assert_eq!(completion["model"], "SmolLM2-135M-Instruct");
    assert!(completion["id"].as_str().unwrap().starts_with("chatcmpl-"));
    let prompt = completion["prompt_token_ids"].as_array().unwrap();
    assert_eq!(completion["usage"]["prompt_tokens"], prompt.len());
    let choices = completion["choices"].as_array().unwrap();
    assert_eq!(choices.len(), 2);
    let mut completion_tokens = 0;
    for (index, choice) in choices.iter().enumerate() {
        assert_eq!(choice["index"], index);
        assert_eq!(choice["message"]["role"], "assistant");
        let tokens = choice["token_ids"].as_array().unwrap();
        completion_tokens += tokens.len();
        assert!(!tokens.is_empty() && tokens.len() <= 6);
        let reason = choice["finish_reason"].as_str().unwrap();
        assert!(reason == "length" || (reason == "stop" && tokens.last() == Some(&json!(2))), "{choice}");
        let content = choice["logprobs"]["content"].as_array().unwrap();
        assert_eq!(content.len(), tokens.len());
        let mut text = Vec::new();
        for entry in content {
            let logprob = entry["logprob"].as_f64().unwrap();
            assert!(logprob <= 0.0);
            let top = entry["top_logprobs"].as_array().unwrap();
            assert_eq!(top.len(), 3);
            // Greedy: the sampled token is the most likely one.
            assert_eq!(top[0]["token"], entry["token"]);
            assert_eq!(top[0]["logprob"], entry["logprob"]);
            let bytes: Vec<u8> = entry["bytes"].as_array().unwrap().iter().map(|b| b.as_u64().unwrap() as u8).collect();
            if entry["token"] != "<|im_end|>" {
                text.extend(bytes);
            }
        }
        assert_eq!(String::from_utf8(text).unwrap(), choice["message"]["content"].as_str().unwrap());
    }
    assert_eq!(choices[0]["token_ids"], choices[1]["token_ids"], "greedy choices agree");
    assert_eq!(completion["usage"]["completion_tokens"], completion_tokens);
    assert_eq!(completion["usage"]["total_tokens"], prompt.len() + completion_tokens);
}

/// A seeded request gives the same tokens alone, as one of `n` choices, and while other
/// requests share its forward passes; the batch did hold several sequences.
#[test]
fn seeded_requests_repeat_whatever_shares_the_batch() {
    let endpoint = Endpoint::start(&[]);
    let reference = question("Name a fruit.", 11, 12);
    let (status, alone) = endpoint.chat(&reference);
    assert_eq!(status, 200, "{alone}");
    let tokens = alone["choices"][0]["token_ids"].clone();
    let crowd: Vec<Value> = (0..6).map(|i| question(&format!("Tell me about the number {i}."), i, 16)).collect();
    let (together, others) = std::thread::scope(|scope| {
        let others: Vec<_> = crowd.iter().map(|body| scope.spawn(|| endpoint.chat(body))).collect();
        std::thread::sleep(Duration::from_millis(50));
        let together = endpoint.chat(&reference);
        (together, others.into_iter().map(|h| h.join().unwrap()).collect::<Vec<_>>())
    });
    assert!(others.iter().all(|(status, _)| *status == 200));
    assert_eq!(together.0, 200);
    assert_eq!(together.1["choices"][0]["token_ids"], tokens, "same seed, same tokens in a shared batch");
    let mut three = reference.clone();
    three["n"] = json!(3);
    let (status, three) = endpoint.chat(&three);
    assert_eq!(status, 200);
    assert_eq!(three["choices"][0]["token_ids"], tokens, "choice 0 draws from the same stream");
    let (_, stats) = endpoint.request("GET", "/stats", b"");
    assert!(stats["generator"]["largest_batch"].as_u64().unwrap() > 1, "{stats}");
    assert_eq!(stats["in_flight_requests"], 0);
}

#[test]
fn a_stop_text_cuts_the_answer() {
    let endpoint = Endpoint::start(&[]);
    let mut body = question("Write a sentence about cats.", 3, 12);
    body["temperature"] = json!(0);
    let (_, free) = endpoint.chat(&body);
    let text = free["choices"][0]["message"]["content"].as_str().unwrap().to_owned();
    let words: Vec<&str> = text.split_whitespace().collect();
    assert!(words.len() >= 3, "{text:?}");
    body["stop"] = json!(["zzz", words[2]]);
    let (status, stopped) = endpoint.chat(&body);
    assert_eq!(status, 200, "{stopped}");
    assert_eq!(stopped["choices"][0]["finish_reason"], "stop");
    let cut = stopped["choices"][0]["message"]["content"].as_str().unwrap();
    assert_eq!(cut, &text[..text.find(words[2]).unwrap()]);
}

#[test]
fn bad_requests_get_openai_errors_and_the_server_goes_on() {
    let endpoint = Endpoint::start(&["--max-body-bytes", "4096", "--max-tokens", "64"]);
    let cases: [(&[u8], u16, Option<&str>); 7] = [
        (b"{not json", 400, None),
        (br#"{"messages": [{"role": "user", "content": "hi"}], "stream": true}"#, 400, Some("stream")),
        (br#"{"messages": []}"#, 400, Some("messages")),
        (br#"{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 65}"#, 400, Some("max_tokens")),
        (br#"{"messages": [{"role": "user", "content": "hi"}], "n": 1000}"#, 400, Some("n")),
        (br#"{"messages": [{"role": "tool", "content": "hi"}]}"#, 400, Some("messages")),
        (&[b'x'; 8192], 413, None),
    ];
    for (body, expected, param) in cases {
        let (status, error) = endpoint.request("POST", "/v1/chat/completions", body);
        assert_eq!(status, expected, "{error}");
        assert!(error["error"]["message"].is_string(), "{error}");
        assert!(error["error"]["type"].is_string(), "{error}");
        assert_eq!(error["error"]["param"].as_str(), param, "{error}");
    }
    let (status, error) = endpoint.request("GET", "/v2/nothing", b"");
    assert_eq!(status, 404);
    assert!(error["error"]["message"].is_string());
    let (status, error) = endpoint.request("GET", "/v1/models/gpt-4", b"");
    assert_eq!((status, error["error"]["code"].as_str()), (404, Some("model_not_found")));
    let (status, _) = endpoint.chat(&question("Hi", 0, 2));
    assert_eq!(status, 200, "the server still answers");
}
