//! The `gossip-node` program, built inside this crate so that the
//! multi-host suite finds it through `CARGO_BIN_EXE_hosts-gossip-node`.

fn main() -> std::process::ExitCode {
    gossip_node::main()
}
