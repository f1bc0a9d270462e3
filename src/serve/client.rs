//! Who a connection comes from, and how many connections each client holds (docs/serving.md:
//! "One client address holds at most 64 connections"). One client with a thousand idle
//! connections used to take every slot of the server, so `/livez` waited seconds for a
//! header timeout to free one; now its connections past [`MAX_PER_CLIENT`] are closed
//! as soon as they are accepted and everybody else is served.
//!
//! A client is an IPv4 address, or an IPv6 /64 (one network hands its hosts a whole
//! /64, so counting single IPv6 addresses would count nothing). mentord sees the
//! address that connected: behind a reverse proxy every request comes from the proxy,
//! which then counts as one client (docs/serving.md).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, MutexGuard};

/// The most connections one client holds at once.
pub const MAX_PER_CLIENT: usize = 64;

/// A client, as counted: an IPv4 address or an IPv6 /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Client(IpAddr);

impl Client {
    pub fn of(ip: IpAddr) -> Client {
        match ip {
            IpAddr::V4(v4) => Client(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Client(IpAddr::V4(v4)),
                None => {
                    let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                    Client(IpAddr::V6(Ipv6Addr::from(prefix)))
                }
            },
        }
    }
}

/// How many connections each client holds now; a client holding none is not listed, so
/// the table never holds more entries than there are open connections.
#[derive(Debug, Clone, Default)]
pub struct Connections(Arc<Mutex<HashMap<Client, Held>>>);

#[derive(Debug, Default)]
struct Held {
    open: usize,
    /// A refusal was logged since the client last held none: one line per flood.
    told: bool,
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    /// The first refusal since the client last held no connection (worth a log line;
    /// the rest of the flood is not).
    pub first: bool,
}

/// One admitted connection; dropping it (the connection ended) frees its place.
#[derive(Debug)]
pub struct Admitted {
    table: Connections,
    client: Client,
}

impl Connections {
    /// A place for one more connection from `ip`, refused when its client already
    /// holds [`MAX_PER_CLIENT`].
    pub fn admit(&self, ip: IpAddr) -> Result<Admitted, Refused> {
        let client = Client::of(ip);
        let mut table = self.lock();
        let held = table.entry(client).or_default();
        if held.open >= MAX_PER_CLIENT {
            let first = !held.told;
            held.told = true;
            return Err(Refused { first });
        }
        held.open += 1;
        Ok(Admitted {
            table: self.clone(),
            client,
        })
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Client, Held>> {
        // The table is counts only; a panic elsewhere leaves them as they were.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut table = self.table.lock();
        if let Some(held) = table.get_mut(&self.client) {
            held.open = held.open.saturating_sub(1);
            if held.open == 0 {
                table.remove(&self.client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_client_holds_at_most_its_share_and_gets_it_back() {
        let connections = Connections::default();
        let hog: IpAddr = "127.0.0.2".parse().unwrap();
        let other: IpAddr = "127.0.0.1".parse().unwrap();
        let held: Vec<Admitted> = (0..MAX_PER_CLIENT)
            .map(|_| connections.admit(hog).unwrap())
            .collect();
        assert_eq!(connections.admit(hog).unwrap_err(), Refused { first: true });
        assert_eq!(
            connections.admit(hog).unwrap_err(),
            Refused { first: false }
        );
        assert!(connections.admit(other).is_ok());
        drop(held);
        assert!(connections.lock().is_empty(), "no one holds anything");
        assert!(connections.admit(hog).is_ok());
    }

    #[test]
    fn an_ipv6_network_is_one_client() {
        let ip = |s: &str| Client::of(s.parse().unwrap());
        assert_eq!(ip("2001:db8:1:2::1"), ip("2001:db8:1:2:ffff::9"));
        assert_ne!(ip("2001:db8:1:2::1"), ip("2001:db8:1:3::1"));
        assert_eq!(ip("::ffff:192.0.2.7"), ip("192.0.2.7"));
        assert_ne!(ip("192.0.2.7"), ip("192.0.2.8"));
    }
}
