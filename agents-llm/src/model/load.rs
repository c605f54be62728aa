//! Loading: the hyper-parameters and the weights of a llama-family model, from a GGUF file
//! (rotary pairs interleaved, as llama.cpp's converter permutes Q/K) or a Hugging Face folder
//! (rotary halves).

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use candle_core::quantized::{QMatMul, QTensor, gguf_file};
use candle_core::{DType, Device, Tensor};
use serde::Deserialize;

use super::Model;
use super::attention::{Attention, MAX_GROUP, Rotary};
use super::block::{Block, Mlp};
use super::config::{ModelConfig, RopeLayout};
use super::linear::{Linear, dense};
use crate::LlmError;

/// Hugging Face `config.json` of a llama-family model (the fields this loader reads).
#[derive(Debug, Clone, Deserialize)]
pub struct HfConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    #[serde(default)]
    pub num_key_value_heads: Option<usize>,
    #[serde(default = "default_eps")]
    pub rms_norm_eps: f64,
    #[serde(default = "default_theta")]
    pub rope_theta: f64,
    #[serde(default = "default_positions")]
    pub max_position_embeddings: usize,
    #[serde(default)]
    pub tie_word_embeddings: bool,
}

fn default_eps() -> f64 {
    1e-5
}
fn default_theta() -> f64 {
    10_000.0
}
fn default_positions() -> usize {
    2048
}

impl Model {
    /// Loads a llama-architecture GGUF file (weights stay quantized; `QMatMul` on `device`).
    ///
    /// # Errors
    /// I/O, a non-llama file, missing tensors or metadata.
    pub fn from_gguf(path: &Path, device: &Device) -> Result<(Self, gguf_file::Content), LlmError> {
        let mut reader = BufReader::new(File::open(path).map_err(|e| LlmError::Io(path.display().to_string(), e))?);
        let content = gguf_file::Content::read(&mut reader)?;
        let number = |key: &str| -> Result<f64, LlmError> {
            let value = content.metadata.get(key).ok_or_else(|| LlmError::Format(format!("GGUF has no `{key}`")))?;
            value
                .to_u32()
                .map(f64::from)
                .or_else(|_| value.to_f32().map(f64::from))
                .or_else(|_| value.to_u64().map(|v| v as f64))
                .map_err(|_| LlmError::Format(format!("GGUF `{key}` is not a number")))
        };
        let architecture = content.metadata.get("general.architecture").and_then(|v| v.to_string().ok());
        if architecture.is_some_and(|a| a != "llama") {
            return Err(LlmError::Format(format!("GGUF architecture {architecture:?} is not llama")));
        }
        let heads = number("llama.attention.head_count")? as usize;
        let hidden_size = number("llama.embedding_length")? as usize;
        let mut tensor = |name: &str| content.tensor(&mut reader, name, device).map_err(LlmError::from);
        let embedding_tensor = tensor("token_embd.weight")?;
        let vocab_size = embedding_tensor.shape().dims()[0];
        let config = ModelConfig {
            vocab_size,
            hidden_size,
            intermediate_size: number("llama.feed_forward_length")? as usize,
            layers: number("llama.block_count")? as usize,
            heads,
            kv_heads: number("llama.attention.head_count_kv").map_or(heads, |v| v as usize),
            rms_norm_eps: number("llama.attention.layer_norm_rms_epsilon")? as f32,
            rope_theta: number("llama.rope.freq_base").unwrap_or(10_000.0) as f32,
            max_positions: number("llama.context_length").map_or(2048, |v| v as usize),
            rope_layout: RopeLayout::Interleaved,
        };
        let embeddings = dense(&embedding_tensor.dequantize(&Device::Cpu)?)?;
        let norm = |tensor: QTensor| -> Result<Vec<f32>, LlmError> { dense(&tensor.dequantize(&Device::Cpu)?) };
        let linear = |tensor: QTensor| Linear::from_qtensor(tensor, device);
        let mut blocks = Vec::with_capacity(config.layers);
        for i in 0..config.layers {
            let mut weight = |part: &str| tensor(&format!("blk.{i}.{part}.weight"));
            blocks.push(Block {
                attention_norm: norm(weight("attn_norm")?)?,
                attention: Attention {
                    query: linear(weight("attn_q")?)?,
                    key: linear(weight("attn_k")?)?,
                    value: linear(weight("attn_v")?)?,
                    output: linear(weight("attn_output")?)?,
                },
                mlp_norm: norm(weight("ffn_norm")?)?,
                mlp: Mlp {
                    gate: linear(weight("ffn_gate")?)?,
                    up: linear(weight("ffn_up")?)?,
                    down: linear(weight("ffn_down")?)?,
                },
            });
        }
        let final_norm = norm(tensor("output_norm.weight")?)?;
        let lm_head = match content.tensor_infos.contains_key("output.weight") {
            true => linear(tensor("output.weight")?)?,
            false => linear(embedding_tensor)?,
        };
        let model = Self::assemble(config, device.clone(), embeddings, blocks, final_norm, lm_head)?;
        Ok((model, content))
    }

    /// Loads a Hugging Face llama-family folder: `config.json` and `model.safetensors` (or
    /// `model-*.safetensors` shards); weights are kept dense in f32.
    ///
    /// # Errors
    /// I/O, malformed config, missing tensors.
    pub fn from_hf_dir(dir: &Path, device: &Device) -> Result<Self, LlmError> {
        let config_path = dir.join("config.json");
        let text =
            std::fs::read_to_string(&config_path).map_err(|e| LlmError::Io(config_path.display().to_string(), e))?;
        let hf: HfConfig = serde_json::from_str(&text).map_err(|e| LlmError::Format(format!("config.json: {e}")))?;
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| LlmError::Io(dir.display().to_string(), e))?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "safetensors"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(LlmError::Format(format!("no .safetensors file in {}", dir.display())));
        }
        let mut weights: HashMap<String, Tensor> = HashMap::new();
        for file in &files {
            weights.extend(candle_core::safetensors::load(file, device)?);
        }
        let mut take =
            |name: &str| weights.remove(name).ok_or_else(|| LlmError::Format(format!("missing tensor `{name}`")));
        let linear = |tensor: Tensor| -> Result<Linear, LlmError> {
            Ok(Linear::Candle { matmul: QMatMul::Tensor(tensor.to_dtype(DType::F32)?), device: device.clone() })
        };
        let config = ModelConfig {
            vocab_size: hf.vocab_size,
            hidden_size: hf.hidden_size,
            intermediate_size: hf.intermediate_size,
            layers: hf.num_hidden_layers,
            heads: hf.num_attention_heads,
            kv_heads: hf.num_key_value_heads.unwrap_or(hf.num_attention_heads),
            rms_norm_eps: hf.rms_norm_eps as f32,
            rope_theta: hf.rope_theta as f32,
            max_positions: hf.max_position_embeddings,
            rope_layout: RopeLayout::Halves,
        };
        let embedding_tensor = take("model.embed_tokens.weight")?;
        let embeddings = dense(&embedding_tensor)?;
        let mut blocks = Vec::with_capacity(config.layers);
        for i in 0..config.layers {
            let mut weight = |part: &str| take(&format!("model.layers.{i}.{part}.weight"));
            blocks.push(Block {
                attention_norm: dense(&weight("input_layernorm")?)?,
                attention: Attention {
                    query: linear(weight("self_attn.q_proj")?)?,
                    key: linear(weight("self_attn.k_proj")?)?,
                    value: linear(weight("self_attn.v_proj")?)?,
                    output: linear(weight("self_attn.o_proj")?)?,
                },
                mlp_norm: dense(&weight("post_attention_layernorm")?)?,
                mlp: Mlp {
                    gate: linear(weight("mlp.gate_proj")?)?,
                    up: linear(weight("mlp.up_proj")?)?,
                    down: linear(weight("mlp.down_proj")?)?,
                },
            });
        }
        let final_norm = dense(&take("model.norm.weight")?)?;
        // Without an `lm_head.weight` the head is tied to the embeddings (whatever
        // `tie_word_embeddings` says: some llama configs omit it).
        let lm_head = match take("lm_head.weight") {
            Ok(head) => linear(head)?,
            Err(_) => linear(embedding_tensor)?,
        };
        Self::assemble(config, device.clone(), embeddings, blocks, final_norm, lm_head)
    }

    /// The model from its parts, once its head counts are checked.
    fn assemble(
        config: ModelConfig,
        device: Device,
        embeddings: Vec<f32>,
        blocks: Vec<Block>,
        final_norm: Vec<f32>,
        lm_head: Linear,
    ) -> Result<Self, LlmError> {
        let (heads, kv_heads) = (config.heads, config.kv_heads);
        if kv_heads == 0 || !heads.is_multiple_of(kv_heads) || heads / kv_heads > MAX_GROUP {
            return Err(LlmError::Format(format!(
                "{heads} attention heads over {kv_heads} key/value heads: at most {MAX_GROUP} heads per group"
            )));
        }
        let rotary = Rotary::new(&config);
        Ok(Self { config, device, embeddings, blocks, final_norm, lm_head, rotary })
    }
}
