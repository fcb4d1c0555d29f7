//! The `gossip-node` binary: see the library's docs.

fn main() -> std::process::ExitCode {
    gossip_node::main()
}
