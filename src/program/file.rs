//! The program file's bytes, read safely: only a regular file, and at most
//! [`MAX_PROGRAM_BYTES`] of it, checked again on what was actually opened.

use std::path::Path;

/// The largest program file read. 64 MB holds hundreds of thousands of people; anything
/// larger is a wrong path (a log, a dump), and reading it would only take the memory.
pub(crate) const MAX_PROGRAM_BYTES: u64 = 64 * 1024 * 1024;

/// The bytes of a regular file of at most [`MAX_PROGRAM_BYTES`]. Anything else is
/// refused before it is opened: opening a FIFO waits for a writer, and a device such
/// as `/dev/zero` never ends.
pub(crate) fn read_program_file(path: &Path) -> std::io::Result<Vec<u8>> {
    read_program_prefix(path, MAX_PROGRAM_BYTES).map(|(bytes, _)| bytes)
}

/// The first `most` bytes of the program file (checked as [`read_program_file`] checks
/// it), and whether that is the whole file.
pub(crate) fn read_program_prefix(path: &Path, most: u64) -> std::io::Result<(Vec<u8>, bool)> {
    use std::io::Read as _;
    let refuse = |why: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, why);
    let usable = |meta: &std::fs::Metadata| {
        if !meta.is_file() {
            return Err(refuse(not_a_file(meta).to_string()));
        }
        if meta.len() > MAX_PROGRAM_BYTES {
            return Err(refuse(format!(
                "it is {} MB, more than the {} MB a program file may be",
                meta.len().div_ceil(1024 * 1024),
                MAX_PROGRAM_BYTES / (1024 * 1024)
            )));
        }
        Ok(())
    };
    usable(&std::fs::metadata(path)?)?;
    let file = std::fs::File::open(path)?;
    // The path may have been replaced in between: check what was opened, and never read
    // more than the bound (a file may also grow while it is read).
    let meta = file.metadata()?;
    usable(&meta)?;
    let most = most.min(MAX_PROGRAM_BYTES);
    let mut bytes = Vec::with_capacity(meta.len().min(most) as usize);
    file.take(most + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_PROGRAM_BYTES {
        return Err(refuse(format!(
            "it grew past the {} MB a program file may be while it was read",
            MAX_PROGRAM_BYTES / (1024 * 1024)
        )));
    }
    let whole = bytes.len() as u64 <= most;
    bytes.truncate(most as usize);
    Ok((bytes, whole))
}

/// What a path that is not a regular file is, for the error.
fn not_a_file(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    let kind = meta.file_type();
    if kind.is_dir() {
        "it is a folder, not a file"
    } else if kind.is_fifo() {
        "it is a named pipe (FIFO), not a file"
    } else if kind.is_socket() {
        "it is a socket, not a file"
    } else if kind.is_char_device() || kind.is_block_device() {
        "it is a device, not a file"
    } else {
        "it is not a regular file"
    }
}
