//! A server's host as the program file or a URL writes it: whether it is this machine.
//! One answer for every place that lets a loopback server go without TLS (SMTP, IMAP,
//! PostgreSQL, the links' `public_url`).

use std::net::IpAddr;

/// Whether `host` names this machine: `localhost` (any case), or a loopback address,
/// with or without the brackets a URL puts around IPv6 (`[::1]`).
pub fn is_loopback(host: &str) -> bool {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn this_machine_in_every_spelling() {
        for host in [
            "localhost",
            "LocalHost",
            "127.0.0.1",
            "127.8.9.10",
            "::1",
            "[::1]",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "example.org",
            "10.0.0.1",
            "[2001:db8::1]",
            "localhost.example.org",
            "[::1",
            "",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }
}
