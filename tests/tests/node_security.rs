//! `gossip-node` over UDP refuses to start without a key unless told to run
//! insecure: one line naming the key, exit code 2, before binding anything.

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hosts-gossip-node"))
        .args(["--bind", "127.0.0.1:0", "--http", "127.0.0.1:0"])
        .args(args)
        .env_remove("GOSSIP_NODE_KEY_FILE")
        .env_remove("GOSSIP_NODE_INSECURE")
        .env_remove("GOSSIP_NODE_CONFIG")
        .output()
        .expect("run gossip-node")
}

#[test]
fn no_key_without_insecure_is_one_line_and_exit_code_2() {
    let out = run(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("key_file") && stderr.contains("insecure"), "{stderr}");
}

#[test]
fn a_cluster_id_must_be_a_number() {
    let out = run(&["--insecure", "--cluster-id", "blue"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
}
