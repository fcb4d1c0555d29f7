//! Seeds given as `host:port`: resolved through the system resolver and
//! retried until a member answers.

use std::net::SocketAddr;
use std::time::Duration;

use gossip_runtime::Handle;
use tracing::{info, warn};

/// The longest wait between two rounds of resolving and joining.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How often a joined node contacts its seeds again, so that two sides of a
/// healed partition that each declared the other dead meet again.
pub const REJOIN_EVERY: Duration = Duration::from_secs(10);
/// The first wait for a member to answer.
const FIRST_WAIT: Duration = Duration::from_secs(1);

/// Resolves every seed; unresolvable ones are logged and skipped.
pub async fn resolve(seeds: &[String]) -> Vec<SocketAddr> {
    let mut out = Vec::new();
    for seed in seeds {
        match tokio::net::lookup_host(seed.as_str()).await {
            Ok(addrs) => out.extend(addrs),
            Err(err) => warn!(%seed, %err, "cannot resolve seed"),
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Contacts the seeds again every [`REJOIN_EVERY`], re-resolving them;
/// runs until cancelled.
pub async fn rejoin(handle: &Handle<SocketAddr>, seeds: &[String]) {
    loop {
        tokio::time::sleep(REJOIN_EVERY).await;
        let local = *handle.local_addr();
        let addrs: Vec<SocketAddr> = resolve(seeds).await.into_iter().filter(|a| *a != local).collect();
        if !addrs.is_empty() && handle.join(addrs).await.is_err() {
            return;
        }
    }
}

/// Resolves and joins through `seeds` until a member answers, waiting
/// twice as long each round (up to [`MAX_BACKOFF`]). Returns when joined;
/// runs until then (the caller cancels it on shutdown).
pub async fn join(handle: &Handle<SocketAddr>, seeds: &[String]) {
    let mut wait = FIRST_WAIT;
    loop {
        let addrs = resolve(seeds).await;
        let local = *handle.local_addr();
        let addrs: Vec<SocketAddr> = addrs.into_iter().filter(|a| *a != local).collect();
        if addrs.is_empty() {
            warn!(?seeds, "no seed resolved to another address; retrying");
            tokio::time::sleep(wait).await;
        } else {
            match handle.join_within(addrs.clone(), wait).await {
                Ok(()) => {
                    info!(seeds = ?addrs, "joined the cluster");
                    return;
                }
                Err(gossip_runtime::RuntimeError::NotJoined(_)) => {
                    warn!(seeds = ?addrs, waited = ?wait, "no member answered yet (down, or refusing this node's key or certificate); retrying");
                }
                Err(err) => {
                    warn!(%err, "cannot join");
                    return;
                }
            }
        }
        wait = (wait * 2).min(MAX_BACKOFF);
    }
}
