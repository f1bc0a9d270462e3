//! The daemon itself, driven by a test on a virtual clock: its store opened and
//! registered, its mail written as files.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::Path;

use jiff::Timestamp;
use mentord::clock::VirtualClock;
use mentord::daemon::{self, Control, Daemon, Silent, Transport};
use mentord::program;
use mentord::render::Templates;
use mentord::store::{InstanceInfo, Location, Store};

/// A daemon for the program in `config` over the store at `location` (opened and this
/// daemon registered, as of `started`), writing its mail as files into `outbox`; and the
/// store.
pub async fn file_daemon(
    config: &Path,
    location: &Location,
    outbox: &Path,
    started: Timestamp,
) -> (Daemon, Store) {
    let mut store = Store::open(location).await.unwrap();
    store
        .register(
            InstanceInfo {
                host: "test".into(),
                pid: std::process::id(),
                mail: "files".into(),
            },
            started,
        )
        .await
        .unwrap();
    let daemon = Daemon::new(
        program::load(config).unwrap(),
        Templates::load(None).unwrap(),
        store.clone(),
        Transport::File {
            dir: outbox.to_path_buf(),
            connections: mentord::program::DEFAULT_CONNECTIONS,
        },
    );
    (daemon, store)
}

/// Runs `daemon`'s loop from `from` to `until` on a virtual clock.
pub async fn run(daemon: &mut Daemon, from: Timestamp, until: Timestamp) {
    let clock = VirtualClock::new(from, until);
    let (mut control, _wake) = Control::unattended();
    daemon::run(daemon, &clock, &mut control, &mut Silent)
        .await
        .unwrap();
}
