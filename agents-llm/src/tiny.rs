//! A tiny randomly initialised llama model in Hugging Face layout, for tests and examples that
//! must not download anything: `config.json`, `model.safetensors` (weights from a seeded
//! ChaCha stream, so the same seed writes the same bytes) and a byte-level `tokenizer.json`
//! with the ChatML tokens.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use rand::RngExt;
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{AddedToken, Tokenizer};

use crate::LlmError;

pub const HIDDEN: usize = 32;
pub const INTERMEDIATE: usize = 64;
pub const LAYERS: usize = 2;
pub const HEADS: usize = 4;
pub const KV_HEADS: usize = 2;

/// Writes the tiny model into `dir` (which must exist).
///
/// # Errors
/// I/O and serialisation failures.
pub fn write_random_model(dir: &Path, seed: u64) -> Result<(), LlmError> {
    let tokenizer_error = |e: tokenizers::Error| LlmError::Tokenizer(e.to_string());
    let mut alphabet: Vec<char> = ByteLevel::alphabet().into_iter().collect();
    alphabet.sort_unstable();
    let vocab: tokenizers::models::bpe::Vocab =
        alphabet.iter().enumerate().map(|(i, c)| (c.to_string(), i as u32)).collect();
    let bpe = BPE::builder().vocab_and_merges(vocab, Vec::new()).build().map_err(tokenizer_error)?;
    let mut tokenizer = Tokenizer::new(bpe);
    tokenizer.with_pre_tokenizer(Some(ByteLevel::new(false, true, true)));
    tokenizer.with_decoder(Some(tokenizers::decoders::byte_level::ByteLevel::default()));
    tokenizer
        .add_special_tokens([AddedToken::from("<|im_start|>", true), AddedToken::from("<|im_end|>", true)])
        .map_err(tokenizer_error)?;
    tokenizer.save(dir.join("tokenizer.json"), false).map_err(tokenizer_error)?;
    let vocab_size = tokenizer.get_vocab_size(true);
    let config = serde_json::json!({
        "architectures": ["LlamaForCausalLM"],
        "vocab_size": vocab_size,
        "hidden_size": HIDDEN,
        "intermediate_size": INTERMEDIATE,
        "num_hidden_layers": LAYERS,
        "num_attention_heads": HEADS,
        "num_key_value_heads": KV_HEADS,
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        "max_position_embeddings": 1024,
        "tie_word_embeddings": true,
    });
    let config_path = dir.join("config.json");
    std::fs::write(&config_path, config.to_string()).map_err(|e| LlmError::Io(config_path.display().to_string(), e))?;
    let mut rng = sim_core::seed::stream(seed, "tiny-model-weights");
    let mut random = |rows: usize, columns: usize| {
        let values: Vec<f32> = (0..rows * columns).map(|_| rng.random_range(-0.3f32..0.3)).collect();
        Tensor::from_vec(values, (rows, columns), &Device::Cpu)
    };
    let ones = || Tensor::ones(HIDDEN, DType::F32, &Device::Cpu);
    let head_dim = HIDDEN / HEADS;
    let mut weights = HashMap::new();
    weights.insert("model.embed_tokens.weight".to_owned(), random(vocab_size, HIDDEN)?);
    for i in 0..LAYERS {
        let name = |part: &str| format!("model.layers.{i}.{part}.weight");
        weights.insert(name("self_attn.q_proj"), random(HIDDEN, HIDDEN)?);
        weights.insert(name("self_attn.k_proj"), random(KV_HEADS * head_dim, HIDDEN)?);
        weights.insert(name("self_attn.v_proj"), random(KV_HEADS * head_dim, HIDDEN)?);
        weights.insert(name("self_attn.o_proj"), random(HIDDEN, HIDDEN)?);
        weights.insert(name("mlp.gate_proj"), random(INTERMEDIATE, HIDDEN)?);
        weights.insert(name("mlp.up_proj"), random(INTERMEDIATE, HIDDEN)?);
        weights.insert(name("mlp.down_proj"), random(HIDDEN, INTERMEDIATE)?);
        weights.insert(name("input_layernorm"), ones()?);
        weights.insert(name("post_attention_layernorm"), ones()?);
    }
    weights.insert("model.norm.weight".to_owned(), ones()?);
    candle_core::safetensors::save(&weights, dir.join("model.safetensors"))?;
    Ok(())
}
