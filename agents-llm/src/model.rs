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
use half::f16;
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

/// The cached keys and values of one sequence, in f16 (as llama.cpp's default cache; the
/// attention reads half the bytes, and decoding a batch streams the whole cache every step).
///
/// Per layer, the values are `len` rows of `kv_heads * head_dim`. The keys are stored by
/// chunks of [`CHUNK`] positions, position fastest: key element `i` (of `kv_heads * head_dim`)
/// at position `p` is at `(p / CHUNK * kv_width + i) * CHUNK + p % CHUNK`, so the attention
/// scores of a chunk of positions come out one position per vector lane. A chunk is
/// zero-filled when its first position is written.
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    keys: Vec<Vec<f16>>,
    values: Vec<Vec<f16>>,
    len: usize,
}

/// Positions per key chunk (the f32 lanes of an AVX2 vector).
const CHUNK: usize = 8;

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
                let cached_keys = &mut sequence.cache.keys[index];
                for offset in 0..count {
                    let (position, r) = (start + offset, row + offset);
                    let chunk = position / CHUNK;
                    if position % CHUNK == 0 {
                        cached_keys.resize((chunk + 1) * kv_width * CHUNK, f16::ZERO);
                    }
                    let lanes = &mut cached_keys[chunk * kv_width * CHUNK..(chunk + 1) * kv_width * CHUNK];
                    for (lane, &key) in lanes.chunks_exact_mut(CHUNK).zip(&keys[r * kv_width..(r + 1) * kv_width]) {
                        lane[position % CHUNK] = f16::from_f32(key);
                    }
                }
                let new_values = &values[row * kv_width..(row + count) * kv_width];
                sequence.cache.values[index].extend(new_values.iter().map(|&value| f16::from_f32(value)));
                for offset in 0..count {
                    let r = row + offset;
                    attend(
                        &self.config,
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
            swiglu(&mut gate, &up);
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
}

/// Causal attention of one query row over the first `visible` cached positions.
///
/// On x86-64 with AVX2, FMA and F16C the same code is compiled for those features (reading the
/// f16 cache with F16C); both builds perform the same f32 operations in the same order (fused
/// multiply-adds are explicit `mul_add` calls, never contractions) on the same exactly widened
/// values, so they compute identical values.
fn attend(
    config: &ModelConfig,
    query: &[f32],
    keys: &[f16],
    values: &[f16],
    visible: usize,
    scores: &mut Vec<f32>,
    out: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    if crate::q8::avx2_fma() && std::arch::is_x86_feature_detected!("f16c") {
        // SAFETY: the CPU has the features the function is compiled for (checked above).
        unsafe { attend_avx2(config, query, keys, values, visible, scores, out) };
        return;
    }
    attend_portable::<Portable>(config, query, keys, values, visible, scores, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
fn attend_avx2(
    config: &ModelConfig,
    query: &[f32],
    keys: &[f16],
    values: &[f16],
    visible: usize,
    scores: &mut Vec<f32>,
    out: &mut [f32],
) {
    attend_portable::<F16c>(config, query, keys, values, visible, scores, out);
}

/// The arithmetic, per query head `h` over key/value head `k`: score `s_p` is
/// `fma(q[d], key_p[d], .)` over `d` in order from 0, times `1/sqrt(head_dim)`; `e_p` is
/// [`exp`]`(s_p - max s)`; output element `d` is `fma(e_p, value_p[d], .)` over `p` in
/// order from 0, divided by the sum of the `e_p` (summed in order).
#[inline(always)]
fn attend_portable<W: Widen>(
    config: &ModelConfig,
    query: &[f32],
    keys: &[f16],
    values: &[f16],
    visible: usize,
    scores: &mut Vec<f32>,
    out: &mut [f32],
) {
    let shape = AttentionShape {
        head_dim: config.head_dim(),
        kv_width: config.kv_heads * config.head_dim(),
        padded: visible.div_ceil(CHUNK) * CHUNK,
        visible,
    };
    let group = config.heads / config.kv_heads;
    let scale = 1.0 / (shape.head_dim as f32).sqrt();
    // `scores` holds `group` rows of `padded` scores: the query heads that share one
    // key/value head read each cached key and value together.
    scores.resize(group * shape.padded, 0.0);
    for kv_head in 0..config.kv_heads {
        let first_head = kv_head * group;
        // Up to four heads at a time, two chunks of positions at a time: eight vector
        // accumulators, independent of one another.
        for heads in (0..group).step_by(4) {
            let count = (group - heads).min(4);
            let query = &query[(first_head + heads) * shape.head_dim..];
            let scores = &mut scores[heads * shape.padded..];
            match count {
                1 => score_heads::<W, 1>(query, keys, kv_head, &shape, scale, scores),
                2 => score_heads::<W, 2>(query, keys, kv_head, &shape, scale, scores),
                3 => score_heads::<W, 3>(query, keys, kv_head, &shape, scale, scores),
                _ => score_heads::<W, 4>(query, keys, kv_head, &shape, scale, scores),
            }
        }
        let mut sums = [0f32; MAX_GROUP];
        for (row, sum) in scores.chunks_exact_mut(shape.padded).zip(sums.iter_mut()) {
            let row = &mut row[..visible];
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            // Plain loops rather than iterator adaptors, which are not always inlined and
            // so would not be compiled for the caller's target features.
            for score in row.iter_mut() {
                *score = exp(*score - max);
            }
            for score in row.iter() {
                *sum += *score;
            }
        }
        let out = &mut out[first_head * shape.head_dim..(first_head + group) * shape.head_dim];
        for heads in (0..group).step_by(4) {
            let count = (group - heads).min(4);
            let weights = &scores[heads * shape.padded..];
            let (out, sums) = (&mut out[heads * shape.head_dim..], &sums[heads..]);
            match count {
                1 => weigh_values::<W, 1>(weights, values, kv_head, &shape, sums, out),
                2 => weigh_values::<W, 2>(weights, values, kv_head, &shape, sums, out),
                3 => weigh_values::<W, 3>(weights, values, kv_head, &shape, sums, out),
                _ => weigh_values::<W, 4>(weights, values, kv_head, &shape, sums, out),
            }
        }
    }
}

/// The most query heads per key/value head (grouped-query attention) the model supports.
const MAX_GROUP: usize = 16;

/// Sizes of one attention call.
struct AttentionShape {
    head_dim: usize,
    kv_width: usize,
    /// Positions visible to the query.
    visible: usize,
    /// `visible` rounded up to whole chunks: the length of a row of scores.
    padded: usize,
}

/// Scores of `H` consecutive query heads (`query` starts at the first) against the keys of
/// `kv_head`, for every chunk of visible positions, into rows of `shape.padded` of `scores`.
/// Lanes past `visible` in the last chunk hold scores of positions the query does not see.
#[inline(always)]
fn score_heads<W: Widen, const H: usize>(
    query: &[f32],
    keys: &[f16],
    kv_head: usize,
    shape: &AttentionShape,
    scale: f32,
    scores: &mut [f32],
) {
    let chunks = shape.padded / CHUNK;
    let mut chunk = 0;
    while chunk + 2 <= chunks {
        score_chunks::<W, H, 2>(query, keys, kv_head, chunk, shape, scale, scores);
        chunk += 2;
    }
    if chunk < chunks {
        score_chunks::<W, H, 1>(query, keys, kv_head, chunk, shape, scale, scores);
    }
}

/// [`score_heads`] for chunks `first..first + C`.
#[inline(always)]
fn score_chunks<W: Widen, const H: usize, const C: usize>(
    query: &[f32],
    keys: &[f16],
    kv_head: usize,
    first: usize,
    shape: &AttentionShape,
    scale: f32,
    scores: &mut [f32],
) {
    let head_dim = shape.head_dim;
    let mut sums = [[[0f32; CHUNK]; C]; H];
    let chunk_keys: [&[f16]; C] = std::array::from_fn(|c| {
        let start = ((first + c) * shape.kv_width + kv_head * head_dim) * CHUNK;
        &keys[start..start + head_dim * CHUNK]
    });
    for d in 0..head_dim {
        for (c, chunk_keys) in chunk_keys.iter().enumerate() {
            let key = W::eight(chunk_keys[d * CHUNK..(d + 1) * CHUNK].try_into().expect("a chunk lane"));
            for (h, sums) in sums.iter_mut().enumerate() {
                let q = query[h * head_dim + d];
                for (sum, &k) in sums[c].iter_mut().zip(&key) {
                    *sum = q.mul_add(k, *sum);
                }
            }
        }
    }
    for (h, sums) in sums.iter().enumerate() {
        for (c, sums) in sums.iter().enumerate() {
            let start = h * shape.padded + (first + c) * CHUNK;
            for (score, sum) in scores[start..start + CHUNK].iter_mut().zip(sums) {
                *score = sum * scale;
            }
        }
    }
}

/// The attention output of `H` consecutive query heads: the visible values of `kv_head`
/// weighted by `weights` (rows of `shape.padded`), divided by the heads' `sums`, into `out`
/// (rows of `head_dim`).
#[inline(always)]
fn weigh_values<W: Widen, const H: usize>(
    weights: &[f32],
    values: &[f16],
    kv_head: usize,
    shape: &AttentionShape,
    sums: &[f32],
    out: &mut [f32],
) {
    let mut dim = 0;
    while dim + 16 <= shape.head_dim {
        weigh_value_dims::<W, H, 16>(weights, values, kv_head, dim, shape, sums, out);
        dim += 16;
    }
    while dim + 8 <= shape.head_dim {
        weigh_value_dims::<W, H, 8>(weights, values, kv_head, dim, shape, sums, out);
        dim += 8;
    }
    while dim < shape.head_dim {
        weigh_value_dims::<W, H, 1>(weights, values, kv_head, dim, shape, sums, out);
        dim += 1;
    }
}

/// [`weigh_values`] for dimensions `first..first + D` of the heads.
#[inline(always)]
fn weigh_value_dims<W: Widen, const H: usize, const D: usize>(
    weights: &[f32],
    values: &[f16],
    kv_head: usize,
    first: usize,
    shape: &AttentionShape,
    sums: &[f32],
    out: &mut [f32],
) {
    let mut totals = [[0f32; D]; H];
    let offset = kv_head * shape.head_dim + first;
    for p in 0..shape.visible {
        let start = p * shape.kv_width + offset;
        let value: [f32; D] = W::many(&values[start..start + D]);
        for (h, totals) in totals.iter_mut().enumerate() {
            let weight = weights[h * shape.padded + p];
            for (total, &v) in totals.iter_mut().zip(&value) {
                *total = weight.mul_add(v, *total);
            }
        }
    }
    for (h, totals) in totals.iter().enumerate() {
        let start = h * shape.head_dim + first;
        for (o, total) in out[start..start + D].iter_mut().zip(totals) {
            *o = total / sums[h];
        }
    }
}

/// How the attention reads the f16 cache as f32. Both ways are exact (every f16 is an f32), so
/// they give the same bits (NaNs aside: F16C quiets a signalling NaN); the AVX2 build uses the
/// F16C conversion instruction.
trait Widen {
    fn eight(halves: &[f16; 8]) -> [f32; 8];

    #[inline(always)]
    fn many<const N: usize>(halves: &[f16]) -> [f32; N] {
        let mut out = [0f32; N];
        let mut eights = out.chunks_exact_mut(8);
        for (out, halves) in (&mut eights).zip(halves.chunks_exact(8)) {
            out.copy_from_slice(&Self::eight(halves.try_into().expect("eight halves")));
        }
        let done = N / 8 * 8;
        for (out, half) in eights.into_remainder().iter_mut().zip(&halves[done..]) {
            *out = widen(*half);
        }
        out
    }
}

/// Integer operations only, so the compiler vectorises them.
struct Portable;

impl Widen for Portable {
    #[inline(always)]
    fn eight(halves: &[f16; 8]) -> [f32; 8] {
        halves.map(widen)
    }
}

/// F16C's `vcvtph2ps`.
#[cfg(target_arch = "x86_64")]
struct F16c;

#[cfg(target_arch = "x86_64")]
impl Widen for F16c {
    #[inline(always)]
    fn eight(halves: &[f16; 8]) -> [f32; 8] {
        use std::arch::x86_64::{_mm_loadu_si128, _mm256_cvtph_ps, _mm256_storeu_ps};
        let mut out = [0f32; 8];
        // SAFETY: only called from `attend_avx2`, compiled for F16C and entered when the CPU has
        // it; eight halves are 16 bytes; unaligned load and store.
        unsafe { _mm256_storeu_ps(out.as_mut_ptr(), _mm256_cvtph_ps(_mm_loadu_si128(halves.as_ptr().cast()))) };
        out
    }
}

/// An f16 as f32, exactly, without branches: the magnitude bits shifted into an f32 are the
/// value scaled by 2^-112 (normal and subnormal halves alike), so one exact multiplication by
/// 2^112 restores it; infinities and NaNs keep an all-ones exponent.
#[inline(always)]
fn widen(half: f16) -> f32 {
    let bits = u32::from(half.to_bits());
    let (sign, magnitude) = ((bits & 0x8000) << 16, bits & 0x7fff);
    let value = match magnitude >= 0x7c00 {
        true => f32::from_bits((magnitude << 13) | 0x7f80_0000),
        false => f32::from_bits(magnitude << 13) * f32::from_bits(0x7780_0000),
    };
    f32::from_bits(value.to_bits() | sign)
}

/// `e^x` as a fixed sequence of f32 operations, so every build and vector lane computes the
/// same bits: `x` is clamped to [-87, 88] (NaN stays NaN), reduced by `n` multiples of ln 2 (Cody–Waite split),
/// `e^r` on |r| <= ln 2 / 2 is the degree-6 Taylor polynomial (truncation error below 1e-7
/// relative), and `n` is added to the exponent bits. Within a few ulp of the true value.
#[inline(always)]
fn exp(x: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    const LN_2_HIGH: f32 = 0.693_359_4;
    const LN_2_LOW: f32 = -2.121_944_4e-4;
    let x = x.clamp(-87.0, 88.0);
    let n = (x * LOG2_E).round_ties_even();
    let r = n.mul_add(-LN_2_LOW, n.mul_add(-LN_2_HIGH, x));
    let mut polynomial: f32 = 1.0 / 720.0;
    for coefficient in [1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0] {
        polynomial = polynomial.mul_add(r, coefficient);
    }
    f32::from_bits((polynomial.to_bits() as i32 + ((n as i32) << 23)) as u32)
}

/// SwiGLU in place: `gate = silu(gate) * up`, with [`exp`] (vectorised with the caller's
/// target features).
fn swiglu(gate: &mut [f32], up: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    if crate::q8::avx2_fma() {
        // SAFETY: the CPU has AVX2 and FMA (checked above).
        unsafe { swiglu_avx2(gate, up) };
        return;
    }
    swiglu_portable(gate, up);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn swiglu_avx2(gate: &mut [f32], up: &[f32]) {
    swiglu_portable(gate, up);
}

#[inline(always)]
fn swiglu_portable(gate: &mut [f32], up: &[f32]) {
    for (g, u) in gate.iter_mut().zip(up) {
        *g = *g / (1.0 + exp(-*g)) * u;
    }
}

fn rms_norm(x: &[f32], weight: &[f32], eps: f32, out: &mut [f32]) {
    let width = weight.len();
    for (row, out) in x.chunks_exact(width).zip(out.chunks_exact_mut(width)) {
        let mean_square = row.iter().map(|v| v * v).sum::<f32>() / width as f32;
        let scale = 1.0 / (mean_square + eps).sqrt();
        out.iter_mut().zip(row).zip(weight).for_each(|((o, v), w)| *o = v * scale * w);
    }
}

#[cfg(test)]
mod tests {
    use rand::RngExt;

    use super::*;

    fn random(count: usize, seed: u64) -> Vec<f32> {
        let mut rng = sim_core::seed::stream(seed, "attention-test");
        (0..count).map(|_| rng.random_range(-1.0f32..1.0)).collect()
    }

    fn config(heads: usize, kv_heads: usize, head_dim: usize) -> ModelConfig {
        ModelConfig {
            vocab_size: 16,
            hidden_size: heads * head_dim,
            intermediate_size: 16,
            layers: 1,
            heads,
            kv_heads,
            rms_norm_eps: 1e-5,
            rope_theta: 10_000.0,
            max_positions: 64,
            rope_layout: RopeLayout::Halves,
        }
    }

    /// Keys laid out as [`KvCache`] stores them, from position-major rows.
    fn chunked(rows: &[f16], kv_width: usize) -> Vec<f16> {
        let positions = rows.len() / kv_width;
        let mut keys = vec![f16::ZERO; positions.div_ceil(CHUNK) * CHUNK * kv_width];
        for p in 0..positions {
            for i in 0..kv_width {
                keys[(p / CHUNK * kv_width + i) * CHUNK + p % CHUNK] = rows[p * kv_width + i];
            }
        }
        keys
    }

    fn halves(values: &[f32]) -> Vec<f16> {
        values.iter().map(|&v| f16::from_f32(v)).collect()
    }

    /// Softmax attention in f64, straight from the definition.
    fn reference(config: &ModelConfig, query: &[f32], keys: &[f16], values: &[f16], visible: usize) -> Vec<f32> {
        let (keys, values): (Vec<f32>, Vec<f32>) =
            (keys.iter().map(|h| h.to_f32()).collect(), values.iter().map(|h| h.to_f32()).collect());
        let head_dim = config.head_dim();
        let kv_width = config.kv_heads * head_dim;
        let group = config.heads / config.kv_heads;
        let mut out = vec![0f32; config.heads * head_dim];
        for head in 0..config.heads {
            let kv = head / group * head_dim;
            let q = &query[head * head_dim..(head + 1) * head_dim];
            let scores: Vec<f64> = (0..visible)
                .map(|p| {
                    let k = &keys[p * kv_width + kv..p * kv_width + kv + head_dim];
                    q.iter().zip(k).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum::<f64>() / (head_dim as f64).sqrt()
                })
                .collect();
            let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let weights: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
            let total: f64 = weights.iter().sum();
            for d in 0..head_dim {
                let sum: f64 = (0..visible).map(|p| weights[p] * f64::from(values[p * kv_width + kv + d])).sum();
                out[head * head_dim + d] = (sum / total) as f32;
            }
        }
        out
    }

    #[test]
    fn attention_matches_the_definition_and_every_build_computes_the_same_bits() {
        // SmolLM2's shape (9 heads over 3, 64 wide) and the tiny test model's (4 over 2, 8 wide);
        // 1..=19 positions cover single and paired chunks and partial last chunks.
        for (heads, kv_heads, head_dim) in [(9, 3, 64), (4, 2, 8), (5, 1, 24)] {
            let config = config(heads, kv_heads, head_dim);
            let kv_width = kv_heads * head_dim;
            for visible in 1..=19 {
                let seed = (heads * 100 + visible) as u64;
                let query = random(heads * head_dim, seed);
                let key_rows = halves(&random(visible * kv_width, seed + 1));
                let values = halves(&random(visible * kv_width, seed + 2));
                let keys = chunked(&key_rows, kv_width);
                let mut scores = Vec::new();
                let mut out = vec![0f32; heads * head_dim];
                attend(&config, &query, &keys, &values, visible, &mut scores, &mut out);
                let expected = reference(&config, &query, &key_rows, &values, visible);
                for (a, b) in out.iter().zip(&expected) {
                    assert!((a - b).abs() <= 1e-5, "{heads}/{kv_heads}x{head_dim}, {visible} positions: {a} vs {b}");
                }
                let mut portable = vec![0f32; heads * head_dim];
                attend_portable::<Portable>(&config, &query, &keys, &values, visible, &mut scores, &mut portable);
                assert_eq!(
                    out.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                    portable.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
                );
            }
        }
    }

    #[test]
    fn every_f16_widens_exactly_on_both_paths() {
        let all: Vec<f16> = (0..=u16::MAX).map(f16::from_bits).collect();
        for eight in all.chunks_exact(8) {
            let eight: &[f16; 8] = eight.try_into().unwrap();
            let portable = Portable::eight(eight);
            for (half, widened) in eight.iter().zip(portable) {
                let expected = half.to_f32();
                assert!(
                    widened.to_bits() == expected.to_bits() || (widened.is_nan() && expected.is_nan()),
                    "{:#06x}: {widened} vs {expected}",
                    half.to_bits()
                );
            }
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("f16c") && !eight.iter().any(|h| h.is_nan()) {
                // SAFETY: the CPU has F16C (checked above).
                let hardware = unsafe { widen_with_f16c(eight) };
                assert_eq!(hardware.map(f32::to_bits), portable.map(f32::to_bits));
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx,f16c")]
    fn widen_with_f16c(eight: &[f16; 8]) -> [f32; 8] {
        F16c::eight(eight)
    }

    #[test]
    fn exp_is_within_a_few_ulp_and_exact_at_zero() {
        assert_eq!(exp(0.0), 1.0);
        let mut worst = 0f64;
        for i in 0..=200_000 {
            let x = -87.0 + 175.0 * i as f32 / 200_000.0;
            let truth = f64::from(x).exp();
            worst = worst.max(((f64::from(exp(x)) - truth) / truth).abs());
        }
        assert!(worst < 4e-7, "largest relative error {worst}");
        // Clamped outside the range: finite, no NaN from the exponent bits.
        assert!(exp(-1000.0) > 0.0 && exp(-1000.0) < 1e-37);
        assert!(exp(1000.0).is_finite());
    }

    #[test]
    fn swiglu_on_avx2_equals_the_portable_loop() {
        let gate = random(1000, 7).iter().map(|x| x * 20.0).collect::<Vec<_>>();
        let up = random(1000, 8);
        let (mut fast, mut portable) = (gate.clone(), gate.clone());
        swiglu(&mut fast, &up);
        swiglu_portable(&mut portable, &up);
        assert_eq!(
            fast.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            portable.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
        for ((g, u), out) in gate.iter().zip(&up).zip(&fast) {
            let expected = f64::from(*g) / (1.0 + (-f64::from(*g)).exp()) * f64::from(*u);
            assert!((f64::from(*out) - expected).abs() <= 1e-5 * (1.0 + expected.abs()));
        }
    }
}
