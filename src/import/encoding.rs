//! Which encoding a sheet is in, and reading a Windows-1252 one as UTF-8. Excel on
//! Windows saves plain "CSV" in the machine's ANSI code page, Windows-1252 (a superset
//! of Latin-1) in Western Europe and the Americas: such a sheet's `José` arrives as the
//! byte `0xE9`, and was refused row by row, under a first error that the sheet "has no
//! people". A sheet that is not UTF-8 and has no UTF-8 character anywhere is read as
//! Windows-1252, with a note saying so; one that mixes the two is refused at its first
//! byte that is not UTF-8, and UTF-16 (Excel's "Unicode Text") is refused outright.

use std::io::{self, Read};

/// What a first pass over a sheet found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Utf8,
    /// Not UTF-8 and no UTF-8 character in it: read as Windows-1252. Where the first
    /// byte that is not UTF-8 is, for the note.
    Windows1252(Place),
    /// Not UTF-8 here, though other characters are UTF-8: neither encoding reads it.
    Mixed(Place),
    /// A UTF-16 byte order mark.
    Utf16,
}

/// A byte in a file: its line and column (1-based, in characters) and value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub line: u64,
    pub column: u64,
    pub byte: u8,
}

/// Reads `reader` to its end once, in blocks, holding no more than a block.
pub fn sniff(mut reader: impl Read) -> io::Result<Found> {
    let mut block = vec![0u8; 64 * 1024];
    // Up to 3 bytes of a UTF-8 sequence cut at the end of the block before.
    let mut carry: Vec<u8> = Vec::with_capacity(4);
    let mut scan = Scan {
        line: 1,
        column: 0,
        first_bad: None,
        utf8_seen: false,
    };
    let mut first = true;
    loop {
        let n = reader.read(&mut block)?;
        if n == 0 {
            if !carry.is_empty() {
                scan.bad(carry[0]);
            }
            break;
        }
        let mut bytes = &block[..n];
        if first {
            first = false;
            if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
                return Ok(Found::Utf16);
            }
        }
        // Complete a sequence cut at the last block's end, a byte at a time.
        while !carry.is_empty() && !bytes.is_empty() {
            carry.push(bytes[0]);
            bytes = &bytes[1..];
            match std::str::from_utf8(&carry) {
                Ok(text) => {
                    scan.text(text);
                    carry.clear();
                }
                Err(e) if e.error_len().is_some() => {
                    scan.bad(carry[0]);
                    // The bytes after the first are read again as they come.
                    let rest: Vec<u8> = carry.drain(1..).collect();
                    carry.clear();
                    scan.bytes(&rest, &mut carry);
                }
                Err(_) => {}
            }
        }
        scan.bytes(bytes, &mut carry);
    }
    Ok(match scan.first_bad {
        None => Found::Utf8,
        Some(place) if scan.utf8_seen => Found::Mixed(place),
        Some(place) => Found::Windows1252(place),
    })
}

struct Scan {
    line: u64,
    /// Characters read on the current line.
    column: u64,
    first_bad: Option<Place>,
    /// A character beyond ASCII read as valid UTF-8.
    utf8_seen: bool,
}

impl Scan {
    /// Reads `bytes`, leaving an incomplete sequence at their end in `carry`.
    fn bytes(&mut self, mut bytes: &[u8], carry: &mut Vec<u8>) {
        loop {
            match std::str::from_utf8(bytes) {
                Ok(text) => {
                    self.text(text);
                    return;
                }
                Err(e) => {
                    let (valid, rest) = bytes.split_at(e.valid_up_to());
                    // The prefix was just found valid.
                    self.text(std::str::from_utf8(valid).unwrap_or_default());
                    match e.error_len() {
                        Some(len) => {
                            self.bad(rest[0]);
                            self.column += len as u64 - 1;
                            bytes = &rest[len..];
                        }
                        None => {
                            carry.extend_from_slice(rest);
                            return;
                        }
                    }
                }
            }
        }
    }

    fn text(&mut self, text: &str) {
        for c in text.chars() {
            if c == '\n' {
                self.line += 1;
                self.column = 0;
            } else {
                self.column += 1;
                self.utf8_seen |= !c.is_ascii();
            }
        }
    }

    fn bad(&mut self, byte: u8) {
        self.column += 1;
        if self.first_bad.is_none() {
            self.first_bad = Some(Place {
                line: self.line,
                column: self.column,
                byte,
            });
        }
    }
}

/// Windows-1252's characters for the bytes 0x80 to 0x9F (WHATWG's table: the five bytes
/// it leaves undefined read as the C1 controls of the same number, as Latin-1 has them).
const HIGH: [char; 32] = [
    '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž', '\u{8F}',
    '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}', 'ž', 'Ÿ',
];

/// One Windows-1252 byte as a character.
pub fn windows_1252(byte: u8) -> char {
    match byte {
        0x80..=0x9F => HIGH[usize::from(byte - 0x80)],
        _ => char::from(byte),
    }
}

/// A Windows-1252 stream read as UTF-8, a block at a time.
#[derive(Debug)]
pub struct Windows1252<R> {
    inner: R,
    block: Vec<u8>,
    /// Decoded bytes not yet handed out, from `at`.
    decoded: Vec<u8>,
    at: usize,
}

impl<R: Read> Windows1252<R> {
    pub fn new(inner: R) -> Self {
        Windows1252 {
            inner,
            block: vec![0; 16 * 1024],
            decoded: Vec::with_capacity(48 * 1024),
            at: 0,
        }
    }
}

impl<R: Read> Read for Windows1252<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.at == self.decoded.len() {
            self.decoded.clear();
            self.at = 0;
            let n = self.inner.read(&mut self.block)?;
            let mut utf8 = [0u8; 4];
            for &byte in &self.block[..n] {
                if byte.is_ascii() {
                    self.decoded.push(byte);
                } else {
                    let c = windows_1252(byte).encode_utf8(&mut utf8);
                    self.decoded.extend_from_slice(c.as_bytes());
                }
            }
        }
        let n = out.len().min(self.decoded.len() - self.at);
        out[..n].copy_from_slice(&self.decoded[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Small blocks, so sequences are cut at block ends.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = out.len().min(self.0.len()).min(3);
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn what_each_sheet_is() {
        let utf8 = "name,email\nJosé Müller,j@x.org\n€ 3,k@x.org\n".as_bytes();
        assert_eq!(sniff(utf8).unwrap(), Found::Utf8);
        assert_eq!(sniff(Trickle(utf8)).unwrap(), Found::Utf8);
        let latin = b"name,email\nJos\xe9 M\xfcller,j@x.org\n";
        let place = Place {
            line: 2,
            column: 4,
            byte: 0xE9,
        };
        assert_eq!(sniff(&latin[..]).unwrap(), Found::Windows1252(place));
        assert_eq!(sniff(Trickle(latin)).unwrap(), Found::Windows1252(place));
        let mixed = "name,email\nJosé,j@x.org\nMüller,m@x.org\n"
            .as_bytes()
            .iter()
            .copied()
            .map(|b| if b == 0xBC { 0x00 } else { b })
            .collect::<Vec<u8>>();
        // `ü` (C3 BC) cut to C3 00: line 3, column 2.
        assert_eq!(
            sniff(&mixed[..]).unwrap(),
            Found::Mixed(Place {
                line: 3,
                column: 2,
                byte: 0xC3
            })
        );
        // A sequence cut by the end of the file.
        assert!(matches!(
            sniff(&b"name\nab\xc3"[..]).unwrap(),
            Found::Windows1252(Place {
                line: 2,
                column: 3,
                byte: 0xC3
            })
        ));
        assert_eq!(sniff(&b"\xff\xfen\x00"[..]).unwrap(), Found::Utf16);
    }

    #[test]
    fn windows_1252_reads_as_utf8() {
        let mut out = String::new();
        Windows1252::new(Trickle(b"Jos\xe9 \x80 \x93q\x94 \x81 \xff"))
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, "José € “q” \u{81} ÿ");
    }
}
