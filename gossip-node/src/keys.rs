//! The UDP cluster key file: one `ID:HEX` key per line (`#` comments and
//! blank lines allowed). The first key seals what this node sends; every
//! key is accepted on receipt.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use transport_udp::{ClusterKey, KeyRing};

use crate::config::ConfigError;

/// Reads a key file into a key ring.
pub fn read(path: &Path) -> Result<KeyRing, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new("key_file", format!("cannot read {}: {e}", path.display())))?;
    let mut keys = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |why: &str| ConfigError::new("key_file", format!("{} line {}: {why}", path.display(), n + 1));
        let (id, hex) = line.split_once(':').ok_or_else(|| bad("expected ID:HEX"))?;
        let id: u8 = id.trim().parse().map_err(|_| bad("the key id is not 0-255"))?;
        let bytes = decode_hex(hex.trim()).ok_or_else(|| bad("the key is not 64 hex digits"))?;
        keys.push(ClusterKey::from_bytes(id, bytes));
    }
    let mut keys = keys.into_iter();
    let first = keys.next().ok_or_else(|| ConfigError::new("key_file", format!("{} holds no key", path.display())))?;
    Ok(keys.fold(KeyRing::new(first), KeyRing::accept))
}

fn decode_hex(hex: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// One key line for `id` from fresh OS randomness.
pub fn generate_line(id: u8) -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut line = format!("{id}:");
    for b in bytes {
        let _ = write!(line, "{b:02x}");
    }
    Ok(line)
}

/// Appends a fresh key with `id` to `path`, creating it with mode 0600.
pub fn append_new(path: &Path, id: u8) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    writeln!(file, "{}", generate_line(id)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_it_writes_and_names_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cluster.key");
        append_new(&path, 1).unwrap();
        append_new(&path, 2).unwrap();
        assert!(read(&path).is_ok());
        std::fs::write(&path, "# comment\n1:abcd\n").unwrap();
        let e = read(&path).unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        std::fs::write(&path, "\n").unwrap();
        assert_eq!(read(&path).unwrap_err().key, "key_file");
    }
}
