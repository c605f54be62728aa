//! Tokenizers: built from a GGUF file's metadata (SmolLM2 ships no tokenizer.json), or read
//! from a Hugging Face `tokenizer.json`.

use candle_core::quantized::gguf_file;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::{AddedToken, Tokenizer};

use crate::LlmError;

fn metadata<'a>(content: &'a gguf_file::Content, key: &str) -> Result<&'a gguf_file::Value, LlmError> {
    content.metadata.get(key).ok_or_else(|| LlmError::Format(format!("GGUF metadata has no `{key}`")))
}

fn strings(value: &gguf_file::Value, key: &str) -> Result<Vec<String>, LlmError> {
    let bad = || LlmError::Format(format!("GGUF `{key}` is not a list of strings"));
    value.to_vec().map_err(|_| bad())?.iter().map(|v| v.to_string().cloned().map_err(|_| bad())).collect()
}

/// A byte-level BPE tokenizer from GGUF metadata (`tokenizer.ggml.{model,tokens,merges,token_type}`).
///
/// Pre-tokenisation splits digits individually, then applies byte-level pre-tokenisation with
/// the GPT-2 regex (SmolLM2's `tokenizer.json` does the same); decoding is byte-level. Tokens of
/// type 3 (control) and 4 (user-defined) become special tokens, so `<|im_start|>` and
/// `<|im_end|>` in a template are single tokens.
///
/// # Errors
/// Missing or malformed metadata, or a tokenizer model other than `gpt2` (byte-level BPE).
pub fn from_gguf(content: &gguf_file::Content) -> Result<Tokenizer, LlmError> {
    let model = metadata(content, "tokenizer.ggml.model")?.to_string().map_err(LlmError::from)?;
    if model != "gpt2" {
        return Err(LlmError::Format(format!("unsupported GGUF tokenizer model `{model}` (byte-level BPE only)")));
    }
    let tokens = strings(metadata(content, "tokenizer.ggml.tokens")?, "tokenizer.ggml.tokens")?;
    let merges = strings(metadata(content, "tokenizer.ggml.merges")?, "tokenizer.ggml.merges")?
        .into_iter()
        .map(|merge| {
            merge
                .split_once(' ')
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .ok_or_else(|| LlmError::Format(format!("malformed merge `{merge}`")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let vocab: Vec<(String, u32)> = tokens.iter().enumerate().map(|(id, token)| (token.clone(), id as u32)).collect();
    let bpe = BPE::builder()
        .vocab_and_merges(vocab.into_iter().collect::<tokenizers::models::bpe::Vocab>(), merges)
        .build()
        .map_err(|e| LlmError::Tokenizer(e.to_string()))?;
    let mut tokenizer = Tokenizer::new(bpe);
    tokenizer.with_pre_tokenizer(Some(Sequence::new(vec![
        Digits::new(true).into(),
        ByteLevel::new(false, true, true).into(),
    ])));
    tokenizer.with_decoder(Some(ByteLevelDecoder::default()));
    if let Some(types) = content.metadata.get("tokenizer.ggml.token_type") {
        let types = types.to_vec().map_err(LlmError::from)?;
        let special: Vec<AddedToken> = types
            .iter()
            .zip(&tokens)
            .filter(|(kind, _)| matches!(kind.to_i32().or_else(|_| kind.to_u32().map(|v| v as i32)), Ok(3 | 4)))
            .map(|(_, token)| AddedToken::from(token.clone(), true))
            .collect();
        tokenizer.add_special_tokens(special).map_err(|e| LlmError::Tokenizer(e.to_string()))?;
    }
    Ok(tokenizer)
}

/// Encodes text (special tokens written in it, like `<|im_start|>`, become their ids; nothing
/// is added around it).
///
/// # Errors
/// Tokenizer failures.
pub fn encode(tokenizer: &Tokenizer, text: &str) -> Result<Vec<u32>, LlmError> {
    Ok(tokenizer.encode(text, false).map_err(|e| LlmError::Tokenizer(e.to_string()))?.get_ids().to_vec())
}

/// Decodes ids to text, dropping special tokens.
///
/// # Errors
/// Tokenizer failures.
pub fn decode(tokenizer: &Tokenizer, ids: &[u32]) -> Result<String, LlmError> {
    tokenizer.decode(ids, true).map_err(|e| LlmError::Tokenizer(e.to_string()))
}

/// The bytes one token stands for: an added (special) token's text, or a byte-level token's
/// bytes (so a token holding part of a multi-byte character gives just those bytes). A token
/// of another kind of vocabulary gives the UTF-8 of its decoded text; an unknown id, nothing.
pub fn token_bytes(tokenizer: &Tokenizer, id: u32) -> Vec<u8> {
    if let Some(added) = tokenizer.get_added_vocabulary().get_added_tokens_decoder().get(&id) {
        return added.content.as_bytes().to_vec();
    }
    let Some(piece) = tokenizer.id_to_token(id) else { return Vec::new() };
    let bytes: Option<Vec<u8>> = piece.chars().map(byte_of_char).collect();
    bytes.unwrap_or_else(|| tokenizer.decode(&[id], false).unwrap_or_default().into_bytes())
}

/// The byte a character of a byte-level BPE vocabulary stands for. Byte-level vocabularies
/// spell every byte with a printable character: the printable Latin-1 bytes (`!`..=`~`,
/// `¡`..=`¬`, `®`..=`ÿ`) as themselves, and the other 68 bytes, in increasing order, as the
/// characters from U+0100 on.
fn byte_of_char(c: char) -> Option<u8> {
    let printable = |b: u32| (0x21..=0x7E).contains(&b) || (0xA1..=0xAC).contains(&b) || (0xAE..=0xFF).contains(&b);
    let code = u32::from(c);
    if code < 0x100 {
        return printable(code).then_some(code as u8);
    }
    let rank = code - 0x100;
    (0u32..0x100).filter(|&b| !printable(b)).nth(rank as usize).map(|b| b as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_level_characters_map_back_to_bytes() {
        assert_eq!(byte_of_char('a'), Some(b'a'));
        assert_eq!(byte_of_char('Ġ'), Some(b' '), "U+0120 is the 33rd unprintable byte, the space");
        assert_eq!(byte_of_char('Ċ'), Some(b'\n'));
        assert_eq!(byte_of_char('\u{100}'), Some(0));
        assert_eq!(byte_of_char(' '), None);
        assert_eq!(byte_of_char('\u{144}'), None, "only 68 characters past U+00FF are used");
        let all: Vec<u8> = (0u32..0x144)
            .filter_map(char::from_u32)
            .filter_map(byte_of_char)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(all, (0..=255).collect::<Vec<u8>>());
    }
}
