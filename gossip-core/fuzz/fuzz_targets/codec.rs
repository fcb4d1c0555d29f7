//! Decodes arbitrary bytes: a typed error or a packet, never a panic; a
//! packet that decodes encodes again to frames that decode the same (but
//! for an empty KNOWN frame and an empty, incomplete digest, which say
//! nothing and which the writer leaves out).

#![no_main]

use bytes::Bytes;
use gossip_core::codec::{Frame, PacketWriter, decode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(packet) = decode::<u32>(&Bytes::copy_from_slice(data)) else { return };
    let mut writer = PacketWriter::new(65_000, packet.header);
    let expected: Vec<Frame<u32>> = packet
        .frames
        .into_iter()
        .filter(|frame| match frame {
            Frame::Digest(d) => !d.entries.is_empty() || d.complete,
            Frame::Known(ids) => !ids.is_empty(),
            _ => true,
        })
        .collect();
    for frame in &expected {
        let fits = match frame {
            Frame::Message(m) => writer.push_message(m),
            Frame::Member(m) => writer.push_member(m),
            Frame::Ping { seq, target } => writer.push_ping(*seq, *target),
            Frame::Ack { seq } => writer.push_ack(*seq),
            Frame::PingReq { seq, target, addr } => writer.push_ping_req(*seq, *target, addr),
            Frame::Sync { reply } => writer.push_sync(*reply),
            Frame::Join => writer.push_join(),
            Frame::CatchUp { since } => writer.push_catch_up(*since),
            Frame::Table { mark, total, here } => writer.push_table(*mark, *total, *here),
            Frame::Summary { hash, live } => writer.push_summary(*hash, *live),
            Frame::Known(ids) => writer.push_known(ids) == ids.len(),
            Frame::Digest(d) => writer.push_digest(d.group, d.complete, d.reply, &d.entries) == d.entries.len(),
        };
        if !fits {
            return;
        }
    }
    let again = decode::<u32>(&writer.finish()).expect("a re-encoded packet decodes");
    assert_eq!(again.frames, expected);
});
