//! The chat example's common part: its flags and its loop. Lines typed on
//! stdin are multicast to a group; lines from the others are printed.

use std::net::SocketAddr;

use gossip_core::GroupId;
use gossip_runtime::{Handle, StreamExt};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::SupportError;
use crate::address::parse_socket_addr;

/// The flags every chat example takes (flatten them into its own).
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct ChatArgs {
    /// Address to listen on: an IP or a host name, with a port.
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_socket_addr)]
    pub listen: SocketAddr,
    /// A member to join through; repeat for several. None: wait to be joined.
    #[arg(long = "seed", value_name = "HOST:PORT", value_parser = parse_socket_addr)]
    pub seeds: Vec<SocketAddr>,
    /// The group to chat in.
    #[arg(long, value_name = "NAME", default_value = "demo")]
    pub group: String,
    /// The name shown to the others [default: the listen address].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
}

impl ChatArgs {
    /// The name shown to the others.
    pub fn display_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.listen.to_string())
    }
}

/// Joins the group through the seeds, then multicasts every non-empty
/// stdin line as `<name> line` and prints what the others send, until
/// end of input or Ctrl-C. `what` names the transport in the banner. Shuts
/// the node down and prints its transport counters before returning.
pub async fn run(handle: Handle<SocketAddr>, args: &ChatArgs, what: &str) -> Result<(), SupportError> {
    let group = GroupId::named(&args.group);
    let mut deliveries = handle.subscribe(group).await?;
    if !args.seeds.is_empty() {
        handle.join(args.seeds.clone()).await?;
    }
    eprintln!(
        "listening on {} ({what}) in group {:?} as {:?}; type lines, Ctrl-D to leave",
        handle.local_addr(),
        args.group,
        args.display_name()
    );

    let me = handle.id();
    let printer = tokio::spawn(async move {
        while let Some(item) = deliveries.next().await {
            match item {
                Ok(d) if d.id.origin == me => {} // our own line, already on screen
                Ok(d) => println!("{}", String::from_utf8_lossy(&d.payload)),
                Err(lagged) => eprintln!("({lagged})"),
            }
        }
    });

    let name = args.display_name();
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let ended = loop {
        tokio::select! {
            line = lines.next_line() => match line {
                Ok(Some(line)) if line.trim().is_empty() => {}
                Ok(Some(line)) => {
                    if let Err(err) = handle.multicast(group, format!("<{name}> {line}")).await {
                        eprintln!("not sent: {err}");
                    }
                }
                Ok(None) => break Ok(()),
                Err(err) => break Err(SupportError::Stdin(err)),
            },
            _ = tokio::signal::ctrl_c() => break Ok(()),
        }
    };
    eprintln!("leaving…");
    if let Ok(stats) = handle.stats().await {
        let t = &stats.transport;
        eprintln!(
            "transport: {} datagrams out, {} in, {} failed authentication, {} dropped",
            t.datagrams_out, t.datagrams_in, t.auth_failures, t.dropped
        );
    }
    handle.shutdown().await;
    printer.abort();
    ended
}
