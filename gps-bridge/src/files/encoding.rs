//! Text encodings of coordinate files. Real 国土 TXT files come as GBK/GB2312 from Windows
//! tools, UTF-8 from newer ones, sometimes with a BOM. Reading: a BOM says what it is; else
//! valid UTF-8 is UTF-8; else GB18030 (a superset of GBK and GB2312, so it reads those too).
//! Bytes that are none of these are an error naming the line, never replacement characters
//! in a corner's name. Writing: GB18030 (what legacy 报批 tools read, and unlike GBK it encodes
//! every character, rare ones in villagers' names included) or UTF-8, with CRLF.

use encoding_rs::{Encoding, GB18030, UTF_8, UTF_16BE, UTF_16LE};
use serde::Serialize;

/// An encoding a file was read in or is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TextEncoding {
    Utf8,
    /// GB18030, read also for GBK and GB2312 files.
    Gb18030,
    Utf16,
}

/// Bytes that are not text in any encoding the reader knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "line {line}: these bytes are neither UTF-8 nor GBK/GB18030 text (is it a coordinate file?)"
)]
pub struct NotText {
    pub line: usize,
}

/// The file's text and the encoding it was in.
pub fn decode(bytes: &[u8]) -> Result<(String, TextEncoding), NotText> {
    if let Some((encoding, bom)) = Encoding::for_bom(bytes) {
        let kind = if encoding == UTF_8 {
            TextEncoding::Utf8
        } else if encoding == UTF_16LE || encoding == UTF_16BE {
            TextEncoding::Utf16
        } else {
            TextEncoding::Gb18030
        };
        return strict(encoding, &bytes[bom..]).map(|text| (text, kind));
    }
    let utf8_error = match std::str::from_utf8(bytes) {
        Ok(text) => return Ok((text.to_owned(), TextEncoding::Utf8)),
        Err(e) => e,
    };
    strict(GB18030, bytes)
        .map(|text| (text, TextEncoding::Gb18030))
        .map_err(|gb18030| {
            // Name the line where the encoding that read farther stopped: a UTF-8 file with
            // one bad byte fails GB18030 at its first Chinese line already.
            let utf8_line = 1 + bytes[..utf8_error.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            NotText {
                line: gb18030.line.max(utf8_line),
            }
        })
}

/// Decodes without replacement, or says on which line the bytes stop being text.
fn strict(encoding: &'static Encoding, bytes: &[u8]) -> Result<String, NotText> {
    if let Some(text) = encoding.decode_without_bom_handling_and_without_replacement(bytes) {
        return Ok(text.into_owned());
    }
    // Find the first line that does not decode (line ends are ASCII in every encoding here
    // but UTF-16, where the whole file is named).
    let line = if encoding == UTF_16LE || encoding == UTF_16BE {
        1
    } else {
        bytes
            .split(|&b| b == b'\n')
            .position(|line| {
                encoding
                    .decode_without_bom_handling_and_without_replacement(line)
                    .is_none()
            })
            .map_or(1, |i| i + 1)
    };
    Err(NotText { line })
}

/// An encoding files are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WriteEncoding {
    /// What legacy 报批 tools read.
    #[default]
    Gb18030,
    Utf8,
}

/// `text` in `encoding` with CRLF line ends (the text's own `\n`s become `\r\n`).
pub fn encode(text: &str, encoding: WriteEncoding) -> Vec<u8> {
    let crlf = text.replace("\r\n", "\n").replace('\n', "\r\n");
    match encoding {
        WriteEncoding::Utf8 => crlf.into_bytes(),
        // GB18030 encodes every Unicode scalar value, so nothing is lost or escaped.
        WriteEncoding::Gb18030 => GB18030.encode(&crlf).0.into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_encoding_a_file_comes_in_is_read() {
        let text = "[地块坐标]\r\n1,1,王𠮷,面,@\r\n";
        let gb = encode(text, WriteEncoding::Gb18030);
        assert_eq!(
            decode(&gb).unwrap(),
            (text.to_owned(), TextEncoding::Gb18030)
        );
        // A rare character costs GB18030 four bytes, no error and no HTML escape.
        assert!(gb.windows(4).any(|w| w == [0x95, 0x34, 0xB2, 0x35]));
        assert_eq!(decode(text.as_bytes()).unwrap().1, TextEncoding::Utf8);
        let with_bom = [&[0xEF, 0xBB, 0xBF][..], text.as_bytes()].concat();
        assert_eq!(
            decode(&with_bom).unwrap(),
            (text.to_owned(), TextEncoding::Utf8)
        );
        // GBK from a Windows tool: the same bytes as GB18030 for common characters.
        let (gbk, _, unmappable) = encoding_rs::GBK.encode("[地块坐标]\n地块1");
        assert!(!unmappable);
        assert_eq!(decode(&gbk).unwrap().0, "[地块坐标]\n地块1");
        let utf16: Vec<u8> = [0xFEFF_u16]
            .into_iter()
            .chain("[地块坐标]".encode_utf16())
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(
            decode(&utf16).unwrap(),
            ("[地块坐标]".to_owned(), TextEncoding::Utf16)
        );
    }

    #[test]
    fn bytes_that_are_not_text_name_their_line() {
        let mut bytes = b"[\xca\xf4\xd0\xd4\xc3\xe8\xca\xf6]\nline two\n".to_vec();
        bytes.extend_from_slice(&[0x81, 0x20, 0xff, b'\n']);
        assert_eq!(decode(&bytes), Err(NotText { line: 3 }));
    }

    #[test]
    fn a_utf8_file_with_a_bad_byte_names_that_line() {
        let mut bytes = "[属性描述]\n坐标系=2000国家大地坐标系\nok\n"
            .as_bytes()
            .to_vec();
        bytes.extend_from_slice(b"J1,1,\xff\n");
        assert_eq!(decode(&bytes), Err(NotText { line: 4 }));
    }

    #[test]
    fn written_text_has_crlf() {
        assert_eq!(
            encode("a\nb\r\nc\n", WriteEncoding::Utf8),
            b"a\r\nb\r\nc\r\n"
        );
    }
}
