//! Test helpers: sentences written as bodies (no `$`, no checksum), framed and decoded as they
//! would be coming from a unit.

use super::{Framer, FramerConfig, OwnedLine, Parsed, decode, with_checksum};

/// Frames each body and hands its decoded sentence to `use_it`, in order.
pub fn for_each_parsed<B: AsRef<str>>(bodies: &[B], mut use_it: impl FnMut(&Parsed<'_>)) {
    let mut framer = Framer::new(FramerConfig::default());
    for body in bodies {
        let line = format!("{}\r\n", with_checksum(body.as_ref()));
        framer.push(line.as_bytes(), |r| {
            use_it(&decode(r.expect("framed")).expect("decodes"))
        });
    }
}

/// One body as the checked line a reader sends the bridge.
pub fn owned_line(body: &str) -> OwnedLine {
    let mut line = None;
    let text = format!("{}\r\n", with_checksum(body));
    Framer::new(FramerConfig::default()).push(text.as_bytes(), |r| {
        line = Some(OwnedLine::from(r.expect("framed")))
    });
    line.expect("one line")
}
