//! Runtime nodes on loopback QUIC, with certificates from one test CA,
//! and a transport that can crash as a killed process does.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use gossip_core::Config;
use gossip_runtime::{Builder, Faults, FaultyTransport, Handle};
use transport_quic::{ClusterCa, NodeIdentity, QuicConfig, QuicTransport};

/// One cluster CA for the whole test binary (generated at run time).
pub fn ca() -> &'static ClusterCa {
    static CA: OnceLock<ClusterCa> = OnceLock::new();
    CA.get_or_init(|| ClusterCa::generate("test cluster CA").unwrap())
}

/// A node certificate from the shared test CA.
pub fn identity(name: &str) -> NodeIdentity {
    ca().issue(name).unwrap()
}

/// A QUIC transport on loopback with `identity`.
pub fn quic(identity: NodeIdentity) -> QuicTransport {
    quic_with(identity, |_| {})
}

/// A QUIC transport on loopback with `identity` and config changes.
pub fn quic_with(identity: NodeIdentity, change: impl FnOnce(&mut QuicConfig)) -> QuicTransport {
    let mut config = QuicConfig::new("127.0.0.1:0".parse().unwrap(), identity);
    config.dial_timeout = Duration::from_millis(500);
    change(&mut config);
    QuicTransport::bind(config).unwrap()
}

/// The test config with 1,100-byte packets, so that they travel as QUIC
/// datagrams at the initial 1,200-byte MTU.
pub fn config() -> Config {
    crate::config().to_builder().max_packet_size(1100).build().unwrap()
}

/// A node on loopback QUIC behind a seeded fault decorator.
pub fn node(seed: u64, identity: NodeIdentity, faults: Faults) -> Handle<SocketAddr> {
    node_with(seed, quic(identity), faults, config())
}

/// A node on `transport` with `config`, behind a seeded fault decorator.
pub fn node_with(seed: u64, transport: QuicTransport, faults: Faults, config: Config) -> Handle<SocketAddr> {
    node_arc(seed, Arc::new(transport), faults, config)
}

/// A node whose transport the test keeps a reference to (for its [`transport_quic::QuicStats`]).
pub fn node_arc(seed: u64, transport: Arc<QuicTransport>, faults: Faults, config: Config) -> Handle<SocketAddr> {
    Builder::new(FaultyTransport::new(transport, faults)).config(config).seed(seed).spawn().unwrap()
}

/// A QUIC transport (and optionally a node on it) on a tokio runtime of its
/// own, so that it can vanish as a killed process does: [`Crashable::crash`]
/// drops that runtime first, so no task runs again and no connection sends
/// a close; peers learn nothing. Connections it dials itself must be
/// dialled from a task of its own runtime (its node's), not from the
/// test's.
pub struct Crashable {
    runtime: Option<tokio::runtime::Runtime>,
    transport: Option<Arc<QuicTransport>>,
    handle: Option<Handle<SocketAddr>>,
}

impl Crashable {
    /// Binds a transport with `identity` and config changes on a runtime
    /// of its own (one worker thread).
    pub fn bind(identity: NodeIdentity, change: impl FnOnce(&mut QuicConfig)) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let transport = {
            let _inside = runtime.enter();
            Arc::new(quic_with(identity, change))
        };
        Crashable { runtime: Some(runtime), transport: Some(transport), handle: None }
    }

    /// The transport, for sends and receives from the test.
    pub fn transport(&self) -> &Arc<QuicTransport> {
        self.transport.as_ref().expect("not crashed")
    }

    /// Starts a node on the transport, on this runtime, with `config`.
    pub fn spawn_node(&mut self, seed: u64, config: Config) -> Handle<SocketAddr> {
        let runtime = self.runtime.as_ref().expect("not crashed");
        let _inside = runtime.enter();
        let handle = node_arc(seed, self.transport().clone(), Faults::default(), config);
        self.handle = Some(handle.clone());
        handle
    }

    /// Stops every task of this transport (and node) where it stands, then
    /// releases the socket, so the address can be bound again at once.
    pub fn crash(mut self) {
        let runtime = self.runtime.take();
        // Dropping a runtime blocks, which an async test must not do on
        // its own thread.
        std::thread::spawn(move || drop(runtime)).join().unwrap();
        self.handle = None;
        self.transport = None;
    }
}
