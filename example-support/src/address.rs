//! `HOST:PORT` command-line arguments: an IP address or a host name,
//! resolved when the arguments are parsed.

use std::net::{SocketAddr, ToSocketAddrs};

/// Parses `HOST:PORT` (`127.0.0.1:7000`, `[::1]:7000`, `localhost:7000`,
/// `node-3.example:7000`) into the first address it resolves to. Use as a
/// clap `value_parser`; the error is one line.
pub fn parse_socket_addr(arg: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = arg.parse() {
        return Ok(addr);
    }
    if !arg.rsplit_once(':').is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok()) {
        return Err(format!("`{arg}` is not HOST:PORT (for example 127.0.0.1:7000 or localhost:7000)"));
    }
    let mut found = arg.to_socket_addrs().map_err(|err| format!("cannot resolve `{arg}`: {err}"))?;
    found.next().ok_or_else(|| format!("`{arg}` resolves to no address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_addresses_parse() {
        assert_eq!(parse_socket_addr("127.0.0.1:7000"), Ok("127.0.0.1:7000".parse().unwrap()));
        assert_eq!(parse_socket_addr("[::1]:7000"), Ok("[::1]:7000".parse().unwrap()));
    }

    #[test]
    fn localhost_resolves_to_loopback() {
        let addr = parse_socket_addr("localhost:7005").unwrap();
        assert!(addr.ip().is_loopback(), "{addr}");
        assert_eq!(addr.port(), 7005);
    }

    #[test]
    fn a_missing_or_bad_port_is_one_line() {
        for bad in ["localhost", "localhost:", ":7000", "localhost:99999", "127.0.0.1"] {
            let err = parse_socket_addr(bad).unwrap_err();
            assert!(err.contains("HOST:PORT") && !err.contains('\n'), "{bad}: {err}");
        }
    }

    #[test]
    fn an_unknown_host_names_itself() {
        // `.invalid` never resolves (RFC 6761).
        let err = parse_socket_addr("no-such-host.invalid:7000").unwrap_err();
        assert!(err.contains("no-such-host.invalid:7000") && !err.contains('\n'), "{err}");
    }
}
