//! The IMAP watcher over TLS (implicit and STARTTLS) against a real Dovecot with a
//! self-signed cert for `localhost`.
//!
//! The watcher trusts the system's roots (rustls-native-certs), which honours SSL_CERT_FILE.
//! Setting that variable in this process would need `unsafe` (forbidden here), so the test
//! starts the server, then runs itself again as a child process with SSL_CERT_FILE pointing
//! at the server's cert; the child does the watching.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::process::Command;
use std::time::Duration;

use common::imap::{ImapServer, Options, PASSWORD, USER, append_on, mail};
use common::intake::{Mock, Shared, wait_for};
use mentord::io::imap::{ImapSettings, ImapTls, Tuning, watch_tuned};
use tokio_util::sync::CancellationToken;

/// Set in the child: "PLAIN_PORT,TLS_PORT" of the parent's server.
const CHILD_ENV: &str = "SCRATCH_IMAP_TLS_CHILD";

fn settings(host: &str, port: u16, tls: ImapTls) -> ImapSettings {
    ImapSettings {
        host: host.into(),
        port,
        tls,
        user: USER.into(),
        password: PASSWORD.into(),
        folder: "INBOX".into(),
        done_folder: "mentord".into(),
    }
}

fn fast() -> Tuning {
    Tuning {
        idle: Duration::from_secs(2),
        backoff_min: Duration::from_millis(200),
        backoff_max: Duration::from_secs(1),
        ..Tuning::default()
    }
}

/// Runs a watcher with `settings`, appends a mail on the plain `port`, says whether it was
/// taken in time.
async fn takes_mail(port: u16, settings: ImapSettings, subject: &str) -> bool {
    let shared = Shared::new();
    let stop = CancellationToken::new();
    let task = tokio::spawn(watch_tuned(
        settings,
        Mock::new(1, &shared),
        stop.clone(),
        fast(),
    ));
    append_on(port, "INBOX", &mail(subject)).await.unwrap();
    let taken = wait_for(Duration::from_secs(4), subject, || {
        shared.count(subject) == 1
    })
    .await
    .is_ok();
    stop.cancel();
    task.await.unwrap();
    taken
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_modes() {
    tracing_subscriber::fmt()
        .with_env_filter("mentord=debug")
        .with_test_writer()
        .try_init()
        .ok();
    match std::env::var(CHILD_ENV) {
        Ok(ports) => child(&ports).await,
        Err(_) => parent().await,
    }
}

/// Starts the TLS server and runs this test again in a child that trusts its cert.
async fn parent() {
    let server = ImapServer::start_with(Options {
        tls: true,
        ..Options::default()
    })
    .await
    .unwrap_or_else(|e| panic!("cannot start the test IMAP server: {e:#}"));
    let ports = format!("{},{}", server.port, server.tls_port.unwrap());
    let me = std::env::current_exe().unwrap();
    let cert = server.cert_path();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(me)
            .args(["--exact", "tls_modes", "--nocapture"])
            .env(CHILD_ENV, ports)
            .env("SSL_CERT_FILE", cert)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    eprintln!("{}", String::from_utf8_lossy(&out.stdout));
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "TLS checks failed in the child, see above"
    );
}

async fn child(ports: &str) {
    let (plain_port, tls_port) = ports.split_once(',').unwrap();
    let plain_port: u16 = plain_port.parse().unwrap();
    let tls_port: u16 = tls_port.parse().unwrap();

    let implicit = settings("localhost", tls_port, ImapTls::Implicit);
    assert!(
        takes_mail(plain_port, implicit, "implicit").await,
        "implicit TLS"
    );
    let starttls = settings("localhost", plain_port, ImapTls::StartTls);
    assert!(
        takes_mail(plain_port, starttls, "starttls").await,
        "STARTTLS"
    );

    // The cert names localhost: reaching the server as 127.0.0.1 must fail the handshake.
    let wrong_name = settings("127.0.0.1", tls_port, ImapTls::Implicit);
    assert!(
        !takes_mail(plain_port, wrong_name, "wrong-name").await,
        "cert name not checked"
    );

    // A server without TLS: imap:// must not fall back to plain text.
    let plain = ImapServer::start().await.unwrap();
    let refused = settings("127.0.0.1", plain.port, ImapTls::StartTls);
    assert!(
        !takes_mail(plain.port, refused, "no-starttls").await,
        "fell back to plain"
    );

    // tls = "none" is refused for a host that is not loopback (no password in clear).
    let remote = settings("localhost.invalid", plain.port, ImapTls::None);
    assert!(
        !takes_mail(plain.port, remote, "not-loopback").await,
        "plain to non-loopback"
    );
}
