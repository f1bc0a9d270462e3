//! Line numbers for the records of a sheet read as a stream. The csv crate's own count
//! is off after a `\r\n` or a blank line, and the position it gives for a record is
//! where the line break before it began; so [`Counted`] notes each run of line-break
//! bytes as it passes them to the csv reader, and a record's line is one more than the
//! line breaks in the runs that start at or before its position. Records come in file
//! order, so the runs behind a record are dropped: what is kept is the csv reader's
//! look-ahead, not the file.

use std::collections::VecDeque;
use std::io::{self, Read};

/// A run of `\r` and `\n` bytes: where it starts, and how many `\n` it holds.
#[derive(Debug, Clone, Copy)]
struct Run {
    start: u64,
    breaks: u64,
}

/// A reader that counts the lines of what passes through it.
#[derive(Debug)]
pub struct Counted<R> {
    inner: R,
    /// Bytes passed so far.
    offset: u64,
    /// A run still going at the end of the last read.
    open: Option<Run>,
    /// Runs passed that no record has been placed after yet.
    runs: VecDeque<Run>,
    /// The line the runs consumed so far lead to.
    line: u64,
}

impl<R> Counted<R> {
    pub fn new(inner: R) -> Self {
        Counted {
            inner,
            offset: 0,
            open: None,
            runs: VecDeque::new(),
            line: 1,
        }
    }

    /// The 1-based line a record (or a problem) at `position` begins on. Positions must
    /// come in file order.
    pub fn line_of(&mut self, position: Option<&csv::Position>) -> u64 {
        let Some(position) = position else {
            return self.line;
        };
        let at = position.byte();
        while let Some(run) = self.runs.front()
            && run.start <= at
        {
            self.line += run.breaks;
            self.runs.pop_front();
        }
        // A run still open at the end of the file (a problem there) counts as well.
        match self.open {
            Some(run) if run.start <= at => self.line + run.breaks,
            _ => self.line,
        }
    }
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        for (i, &byte) in out[..n].iter().enumerate() {
            if byte == b'\r' || byte == b'\n' {
                let run = self.open.get_or_insert(Run {
                    start: self.offset + i as u64,
                    breaks: 0,
                });
                run.breaks += u64::from(byte == b'\n');
            } else if let Some(run) = self.open.take() {
                self.runs.push_back(run);
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}
