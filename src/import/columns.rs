//! What a sheet holds: the columns it may have (known, required, the aliases exports
//! use) and one row of cells by column name. Below the header reader and the sheet
//! reader, which both speak of them.

/// What a sheet may hold: its columns, the required ones among them, and other spellings
/// exports use for some of them.
#[derive(Debug)]
pub struct Columns {
    /// The column names, in groups (a group may be a list the program file shares).
    pub known: &'static [&'static [&'static str]],
    pub required: &'static [&'static str],
    pub aliases: &'static [(&'static str, &'static str)],
    /// The bytes of TOML a row will make, at the least (see `sheet::Budget`).
    pub toml_floor: fn(&Row) -> usize,
}

impl Columns {
    /// Every known column, in order.
    pub(super) fn names(&self) -> impl Iterator<Item = &'static str> + Clone {
        self.known.iter().flat_map(|group| group.iter().copied())
    }

    pub(super) fn listed(&self) -> String {
        self.names().collect::<Vec<_>>().join(", ")
    }
}

/// One row: its line and its non-empty cells, trimmed, by column name.
#[derive(Debug)]
pub struct Row {
    pub line: u64,
    /// Exactly as many as it has (a growing `Vec` would hold room for four).
    pub(super) cells: Box<[(&'static str, String)]>,
}

impl Row {
    pub fn get(&self, column: &str) -> Option<&str> {
        self.cells
            .iter()
            .find(|(c, v)| *c == column && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// The cell's text, moved out of the row (it reads as empty from then on).
    pub fn take(&mut self, column: &str) -> Option<String> {
        self.cells
            .iter_mut()
            .find(|(c, v)| *c == column && !v.is_empty())
            .map(|(_, v)| std::mem::take(v))
    }
}
