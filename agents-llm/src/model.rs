//! A llama-family causal LM with one KV cache per sequence, for batches of uneven sequences.
//!
//! The forward pass packs the new tokens of every sequence of a batch into one matrix (no
//! padding), so the linear layers run once for the whole batch: Q8_0 weights on our own kernel
//! ([`crate::q8`]), other GGUF types and dense safetensors weights on candle's `QMatMul`. Normalisation, rotary embeddings and attention run
//! row by row on the host over each sequence's own cache, so a sequence's logits do not depend
//! on the other sequences of its batch, on how its tokens were split into calls, or on padding.
//!
//! Supported: the llama architecture (RMSNorm, rotary embeddings, grouped-query attention,
//! SwiGLU MLP, optionally tied embeddings), from a GGUF file (rotary pairs interleaved, as
//! llama.cpp's converter permutes Q/K) or a Hugging Face folder (rotary halves).

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use candle_core::quantized::{GgmlDType, QMatMul, QTensor, gguf_file};
use candle_core::{DType, Device, Module, Tensor};
use serde::Deserialize;

use crate::LlmError;
use crate::q8::{Q8Matrix, Q8Rows};

/// How rotary embeddings pair the dimensions of a head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RopeLayout {
    /// Pairs `(2i, 2i+1)`: GGUF files (llama.cpp permutes the Q/K rows on conversion).
    Interleaved,
    /// Pairs `(i, i + head_dim/2)`: Hugging Face checkpoints.
    Halves,
}

/// Hyper-parameters of a llama-family model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub layers: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub rms_norm_eps: f32,
    pub rope_theta: f32,
    pub max_positions: usize,
    pub rope_layout: RopeLayout,
}

impl ModelConfig {
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.heads
    }
}

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

/// A linear layer: Q8_0 weights on our own kernel ([`crate::q8`]), anything else on candle.
enum Linear {
    Q8(Q8Matrix),
    Candle(QMatMul),
}

impl Linear {
    /// Q8_0 tensors of a CPU model go to our kernel; other types and devices stay with candle.
    fn from_qtensor(tensor: QTensor) -> Result<Self, LlmError> {
        let dims = tensor.shape().dims().to_vec();
        if tensor.dtype() == GgmlDType::Q8_0 && tensor.device().is_cpu() && dims.len() == 2 {
            return Ok(Self::Q8(Q8Matrix::from_gguf_bytes(dims[0], dims[1], &tensor.data()?)?));
        }
        Ok(Self::Candle(QMatMul::from_qtensor(tensor)?))
    }
}

/// The input rows of one or more linear layers; Q8_0 layers share one quantization of them.
struct LayerInput<'a> {
    rows: &'a [f32],
    count: usize,
    quantized: Option<Q8Rows>,
}

impl<'a> LayerInput<'a> {
    fn new(rows: &'a [f32], count: usize) -> Self {
        Self { rows, count, quantized: None }
    }
}

struct Layer {
    attention_norm: Vec<f32>,
    query: Linear,
    key: Linear,
    value: Linear,
    output: Linear,
    mlp_norm: Vec<f32>,
    gate: Linear,
    up: Linear,
    down: Linear,
}

/// The cached keys and values of one sequence: per layer, `len` rows of `kv_heads * head_dim`.
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    keys: Vec<Vec<f32>>,
    values: Vec<Vec<f32>>,
    len: usize,
}

impl KvCache {
    /// Tokens whose keys and values are cached (the next token's position).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// One sequence of a batched forward: its cache and the tokens to append to it.
pub struct SequenceInput<'a> {
    pub cache: &'a mut KvCache,
    pub tokens: &'a [u32],
}

/// A loaded model. Immutable: all per-sequence state lives in [`KvCache`]s.
pub struct Model {
    config: ModelConfig,
    device: Device,
    /// `vocab_size * hidden_size`, dense on the host.
    embeddings: Vec<f32>,
    layers: Vec<Layer>,
    final_norm: Vec<f32>,
    lm_head: Linear,
    /// Per position, `head_dim / 2` cosines then `head_dim / 2` sines.
    rotary: Vec<f32>,
}

fn dense(tensor: &Tensor) -> Result<Vec<f32>, LlmError> {
    Ok(tensor.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?)
}

impl Model {
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// An empty cache for a new sequence.
    pub fn new_cache(&self) -> KvCache {
        KvCache { keys: vec![Vec::new(); self.config.layers], values: vec![Vec::new(); self.config.layers], len: 0 }
    }

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
        let mut layers = Vec::with_capacity(config.layers);
        for i in 0..config.layers {
            let mut weight = |part: &str| tensor(&format!("blk.{i}.{part}.weight"));
            layers.push(Layer {
                attention_norm: norm(weight("attn_norm")?)?,
                query: Linear::from_qtensor(weight("attn_q")?)?,
                key: Linear::from_qtensor(weight("attn_k")?)?,
                value: Linear::from_qtensor(weight("attn_v")?)?,
                output: Linear::from_qtensor(weight("attn_output")?)?,
                mlp_norm: norm(weight("ffn_norm")?)?,
                gate: Linear::from_qtensor(weight("ffn_gate")?)?,
                up: Linear::from_qtensor(weight("ffn_up")?)?,
                down: Linear::from_qtensor(weight("ffn_down")?)?,
            });
        }
        let final_norm = norm(tensor("output_norm.weight")?)?;
        let lm_head = match content.tensor_infos.contains_key("output.weight") {
            true => Linear::from_qtensor(tensor("output.weight")?)?,
            false => Linear::from_qtensor(embedding_tensor)?,
        };
        let model = Self::assemble(config, device.clone(), embeddings, layers, final_norm, lm_head)?;
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
            Ok(Linear::Candle(QMatMul::Tensor(tensor.to_dtype(DType::F32)?)))
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
        let mut layers = Vec::with_capacity(config.layers);
        for i in 0..config.layers {
            let mut weight = |part: &str| take(&format!("model.layers.{i}.{part}.weight"));
            layers.push(Layer {
                attention_norm: dense(&weight("input_layernorm")?)?,
                query: linear(weight("self_attn.q_proj")?)?,
                key: linear(weight("self_attn.k_proj")?)?,
                value: linear(weight("self_attn.v_proj")?)?,
                output: linear(weight("self_attn.o_proj")?)?,
                mlp_norm: dense(&weight("post_attention_layernorm")?)?,
                gate: linear(weight("mlp.gate_proj")?)?,
                up: linear(weight("mlp.up_proj")?)?,
                down: linear(weight("mlp.down_proj")?)?,
            });
        }
        let final_norm = dense(&take("model.norm.weight")?)?;
        // Without an `lm_head.weight` the head is tied to the embeddings (whatever
        // `tie_word_embeddings` says: some llama configs omit it).
        let lm_head = match take("lm_head.weight") {
            Ok(head) => linear(head)?,
            Err(_) => linear(embedding_tensor)?,
        };
        Self::assemble(config, device.clone(), embeddings, layers, final_norm, lm_head)
    }

    fn assemble(
        config: ModelConfig,
        device: Device,
        embeddings: Vec<f32>,
        layers: Vec<Layer>,
        final_norm: Vec<f32>,
        lm_head: Linear,
    ) -> Result<Self, LlmError> {
        let (heads, kv_heads) = (config.heads, config.kv_heads);
        if kv_heads == 0 || !heads.is_multiple_of(kv_heads) || heads / kv_heads > MAX_GROUP {
            return Err(LlmError::Format(format!(
                "{heads} attention heads over {kv_heads} key/value heads: at most {MAX_GROUP} heads per group"
            )));
        }
        let half = config.head_dim() / 2;
        let mut rotary = Vec::with_capacity(config.max_positions * 2 * half);
        for position in 0..config.max_positions {
            let angles: Vec<f64> = (0..half)
                .map(|i| position as f64 / f64::from(config.rope_theta).powf(2.0 * i as f64 / (2 * half) as f64))
                .collect();
            rotary.extend(angles.iter().map(|a| a.cos() as f32));
            rotary.extend(angles.iter().map(|a| a.sin() as f32));
        }
        Ok(Self { config, device, embeddings, layers, final_norm, lm_head, rotary })
    }

    fn matmul(&self, weight: &Linear, input: &mut LayerInput<'_>) -> Result<Vec<f32>, LlmError> {
        match weight {
            Linear::Q8(matrix) => {
                let quantized = input.quantized.get_or_insert_with(|| Q8Rows::quantize(input.rows, input.count));
                let mut out = vec![0f32; input.count * matrix.rows()];
                matrix.matmul(quantized, &mut out);
                Ok(out)
            }
            Linear::Candle(matmul) => {
                let tensor =
                    Tensor::from_slice(input.rows, (input.count, input.rows.len() / input.count), &self.device)?;
                dense(&matmul.forward(&tensor)?)
            }
        }
    }

    /// Appends each sequence's tokens to its cache and returns, per sequence, the logits of
    /// the token following its last new token. Sequences with no new tokens are not allowed.
    ///
    /// # Errors
    /// A sequence without tokens, a token outside the vocabulary, a sequence longer than the
    /// model's context, tensor failures.
    pub fn forward(&self, batch: &mut [SequenceInput<'_>]) -> Result<Vec<Vec<f32>>, LlmError> {
        let config = &self.config;
        let (hidden, head_dim) = (config.hidden_size, config.head_dim());
        let kv_width = config.kv_heads * head_dim;
        let mut rows = 0;
        for sequence in batch.iter() {
            if sequence.tokens.is_empty() {
                return Err(LlmError::Format("a sequence in the batch has no new tokens".into()));
            }
            if sequence.cache.len + sequence.tokens.len() > config.max_positions {
                return Err(LlmError::ContextFull { max: config.max_positions });
            }
            rows += sequence.tokens.len();
        }
        let mut x = Vec::with_capacity(rows * hidden);
        for token in batch.iter().flat_map(|sequence| sequence.tokens) {
            let token = *token as usize;
            if token >= config.vocab_size {
                return Err(LlmError::Format(format!("token id {token} outside the vocabulary")));
            }
            x.extend_from_slice(&self.embeddings[token * hidden..(token + 1) * hidden]);
        }
        let mut normed = vec![0f32; rows * hidden];
        let mut attended = vec![0f32; rows * hidden];
        let mut scores = Vec::new();
        for (index, layer) in self.layers.iter().enumerate() {
            rms_norm(&x, &layer.attention_norm, config.rms_norm_eps, &mut normed);
            let mut input = LayerInput::new(&normed, rows);
            let mut queries = self.matmul(&layer.query, &mut input)?;
            let mut keys = self.matmul(&layer.key, &mut input)?;
            let values = self.matmul(&layer.value, &mut input)?;
            let mut row = 0;
            for sequence in batch.iter_mut() {
                let start = sequence.cache.len;
                for offset in 0..sequence.tokens.len() {
                    let position = start + offset;
                    let r = row + offset;
                    self.rotate(&mut queries[r * hidden..(r + 1) * hidden], position);
                    self.rotate(&mut keys[r * kv_width..(r + 1) * kv_width], position);
                }
                let count = sequence.tokens.len();
                sequence.cache.keys[index].extend_from_slice(&keys[row * kv_width..(row + count) * kv_width]);
                sequence.cache.values[index].extend_from_slice(&values[row * kv_width..(row + count) * kv_width]);
                for offset in 0..count {
                    let r = row + offset;
                    self.attend(
                        &queries[r * hidden..(r + 1) * hidden],
                        &sequence.cache.keys[index],
                        &sequence.cache.values[index],
                        start + offset + 1,
                        &mut scores,
                        &mut attended[r * hidden..(r + 1) * hidden],
                    );
                }
                row += count;
            }
            let projected = self.matmul(&layer.output, &mut LayerInput::new(&attended, rows))?;
            x.iter_mut().zip(&projected).for_each(|(a, b)| *a += b);
            rms_norm(&x, &layer.mlp_norm, config.rms_norm_eps, &mut normed);
            let mut input = LayerInput::new(&normed, rows);
            let mut gate = self.matmul(&layer.gate, &mut input)?;
            let up = self.matmul(&layer.up, &mut input)?;
            gate.iter_mut().zip(&up).for_each(|(g, u)| *g = *g / (1.0 + (-*g).exp()) * u);
            let down = self.matmul(&layer.down, &mut LayerInput::new(&gate, rows))?;
            x.iter_mut().zip(&down).for_each(|(a, b)| *a += b);
        }
        let mut last = Vec::with_capacity(batch.len() * hidden);
        let mut row = 0;
        for sequence in batch.iter_mut() {
            row += sequence.tokens.len();
            last.extend_from_slice(&x[(row - 1) * hidden..row * hidden]);
            sequence.cache.len += sequence.tokens.len();
        }
        let mut last_normed = vec![0f32; last.len()];
        rms_norm(&last, &self.final_norm, config.rms_norm_eps, &mut last_normed);
        let logits = self.matmul(&self.lm_head, &mut LayerInput::new(&last_normed, batch.len()))?;
        Ok(logits.chunks_exact(config.vocab_size).map(<[f32]>::to_vec).collect())
    }

    /// Rotates every head of one row (queries or keys) to `position`.
    fn rotate(&self, row: &mut [f32], position: usize) {
        let head_dim = self.config.head_dim();
        let half = head_dim / 2;
        let table = &self.rotary[position * head_dim..(position + 1) * head_dim];
        let (cos, sin) = table.split_at(half);
        for head in row.chunks_exact_mut(head_dim) {
            for i in 0..half {
                let (a, b) = match self.config.rope_layout {
                    RopeLayout::Interleaved => (2 * i, 2 * i + 1),
                    RopeLayout::Halves => (i, i + half),
                };
                let (x0, x1) = (head[a], head[b]);
                head[a] = x0 * cos[i] - x1 * sin[i];
                head[b] = x0 * sin[i] + x1 * cos[i];
            }
        }
    }

    /// Causal attention of one query row over the first `visible` cached positions.
    ///
    /// On x86-64 with AVX2 and FMA the same code is compiled for those features (wider
    /// vectors; no fused multiply-adds, since Rust never contracts float expressions), so both
    /// builds compute identical values.
    fn attend(
        &self,
        query: &[f32],
        keys: &[f32],
        values: &[f32],
        visible: usize,
        scores: &mut Vec<f32>,
        out: &mut [f32],
    ) {
        #[cfg(target_arch = "x86_64")]
        if crate::q8::avx2_fma() {
            // SAFETY: the CPU has the features the function is compiled for (checked above).
            unsafe { self.attend_avx2(query, keys, values, visible, scores, out) };
            return;
        }
        self.attend_portable(query, keys, values, visible, scores, out);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn attend_avx2(
        &self,
        query: &[f32],
        keys: &[f32],
        values: &[f32],
        visible: usize,
        scores: &mut Vec<f32>,
        out: &mut [f32],
    ) {
        self.attend_portable(query, keys, values, visible, scores, out);
    }

    #[inline(always)]
    fn attend_portable(
        &self,
        query: &[f32],
        keys: &[f32],
        values: &[f32],
        visible: usize,
        scores: &mut Vec<f32>,
        out: &mut [f32],
    ) {
        let config = &self.config;
        let head_dim = config.head_dim();
        let kv_width = config.kv_heads * head_dim;
        let group = config.heads / config.kv_heads;
        let scale = 1.0 / (head_dim as f32).sqrt();
        // `scores` holds `group` rows of `visible` scores: the query heads that share one
        // key/value head read each cached key and value once, together. Each head's arithmetic
        // is the same as one head at a time.
        scores.resize(group * visible, 0.0);
        for kv_head in 0..config.kv_heads {
            let kv = kv_head * head_dim;
            let heads = kv_head * group..(kv_head + 1) * group;
            // Plain loops rather than iterator adaptors such as `extend`, which are not inlined
            // and so would not be compiled for the caller's target features.
            for p in 0..visible {
                let key = &keys[p * kv_width + kv..p * kv_width + kv + head_dim];
                for (g, head) in heads.clone().enumerate() {
                    scores[g * visible + p] = dot(&query[head * head_dim..(head + 1) * head_dim], key) * scale;
                }
            }
            let mut sums = [0f32; MAX_GROUP];
            for (g, row) in scores.chunks_exact_mut(visible).enumerate() {
                let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                for score in row.iter_mut() {
                    *score = (*score - max).exp();
                    sums[g] += *score;
                }
            }
            out[heads.start * head_dim..heads.end * head_dim].fill(0.0);
            for p in 0..visible {
                let value = &values[p * kv_width + kv..p * kv_width + kv + head_dim];
                for (g, head) in heads.clone().enumerate() {
                    let weight = scores[g * visible + p] / sums[g];
                    let o = &mut out[head * head_dim..(head + 1) * head_dim];
                    o.iter_mut().zip(value).for_each(|(o, v)| *o += weight * v);
                }
            }
        }
    }
}

/// The most query heads per key/value head (grouped-query attention) the model supports.
const MAX_GROUP: usize = 16;

/// Dot product with eight independent accumulators (vectorises without fast-math; the
/// summation order is fixed, so results are reproducible).
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    // Whole chunks of eight, so the loop has no bounds checks and vectorises.
    let (a_chunks, b_chunks) = (a.chunks_exact(8), b.chunks_exact(8));
    let (a_rest, b_rest) = (a_chunks.remainder(), b_chunks.remainder());
    for (x, y) in a_chunks.zip(b_chunks) {
        for l in 0..8 {
            lanes[l] += x[l] * y[l];
        }
    }
    let mut sum = lanes.iter().sum::<f32>();
    for (x, y) in a_rest.iter().zip(b_rest) {
        sum += x * y;
    }
    sum
}

fn rms_norm(x: &[f32], weight: &[f32], eps: f32, out: &mut [f32]) {
    let width = weight.len();
    for (row, out) in x.chunks_exact(width).zip(out.chunks_exact_mut(width)) {
        let mean_square = row.iter().map(|v| v * v).sum::<f32>() / width as f32;
        let scale = 1.0 / (mean_square + eps).sqrt();
        out.iter_mut().zip(row).zip(weight).for_each(|((o, v), w)| *o = v * scale * w);
    }
}
