//! What the parts of a running `mentord run` share: the program as last loaded (replaced
//! whole on reload, read without locks) and the wake-ups that tell the daemon something
//! changed. The daemon's loop, the HTTP side and the IMAP watcher all stand above this.

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::program::Program;

/// The program as last loaded: every reader takes the whole of one version
/// (`load_full`), a reload swaps in the next.
pub type LiveProgram = Arc<ArcSwap<Program>>;

/// A live program starting at `program`.
pub fn live(program: Arc<Program>) -> LiveProgram {
    Arc::new(ArcSwap::new(program))
}

/// What may wake a sleeping daemon besides its clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// Read the program file again (why: "SIGHUP", "file changed").
    Reload(&'static str),
    /// Mail came in that the daemon acts on (an agenda to pass on, a meeting declined).
    Inbound,
}
