//! The sentence address, checked as gpsd's packet lexer checks it before it takes bytes for an
//! NMEA sentence: a known talker followed by a sentence type. What gpsd's lexer does not take
//! is not NMEA to gpsd (`$LOG108,…` from a RoyalTek RGM-3800 in its logging format, `$IMGSA`
//! from a talker gpsd does not know, terminal noise such as `$Kernel`), and is not to us.
//!
//! The facts, from gpsd's `packet.c` (ntpsec/gpsd 46977faa, its comment listing the talker IDs
//! and its `NMEA_*`/`AIS_*` lexer states):
//! - `$` then one of the talkers GA, GB, GL, GN, GP, GY (GNSS and Unicore's gyro), BD, QZ,
//!   EC, HC, HE, II, IN, SD, TI, WI, YX, AP (instruments), AI (AIS), and SN and ST (for
//!   Unicore's `$SNRSTAT` and SkyTraq's `$STI`), or SiRF's `$Ack`;
//! - `$P` then a letter: a vendor's proprietary sentence, whose address the vendor defines;
//! - `!` then an AIS talker: AB, AD, AI, AN, AR, AS, AT, AX, BS or SA, then a letter.
//!
//! gpsd's lexer then takes any body; its NMEA driver recognises the type and ignores types it
//! does not know. Here the type must be there and be the letters and digits a formatter is
//! made of (`GGA`, `GSV`, `OACC`, `RSTAT`, `I`), so an address cut short (`$GP,`) is no
//! sentence either.

/// Talkers gpsd takes after `$`.
const TALKERS: [&[u8; 2]; 21] = [
    b"GA", b"GB", b"GL", b"GN", b"GP", b"GY", b"BD", b"QZ", b"EC", b"HC", b"HE", b"II", b"IN",
    b"SD", b"TI", b"WI", b"YX", b"AP", b"AI", b"SN", b"ST",
];

/// AIS talkers gpsd takes after `!`.
const AIS_TALKERS: [&[u8; 2]; 10] = [
    b"AB", b"AD", b"AI", b"AN", b"AR", b"AS", b"AT", b"AX", b"BS", b"SA",
];

/// Whether a sentence with this leader (`$` or `!`) and body (what follows the leader) has an
/// address gpsd would take. The address ends at the first `,` (or `*`, for a sentence of no
/// fields).
pub fn is_valid(leader: u8, body: &[u8]) -> bool {
    let address = body
        .split(|&b| b == b',' || b == b'*')
        .next()
        .unwrap_or_default();
    let (talker, kind) = address.split_at(address.len().min(2));
    match leader {
        b'$' => match talker {
            [b'P', second] => second.is_ascii_alphabetic(),
            // SiRF's acknowledgement, whatever follows it.
            _ if address.starts_with(b"Ack") => true,
            _ => {
                TALKERS.iter().any(|t| t.as_slice() == talker)
                    && !kind.is_empty()
                    && kind.iter().all(u8::is_ascii_alphanumeric)
            }
        },
        b'!' => {
            AIS_TALKERS.iter().any(|t| t.as_slice() == talker)
                && kind.first().is_some_and(u8::is_ascii_alphabetic)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dollar(payload: &str) -> bool {
        is_valid(b'$', payload.as_bytes())
    }

    #[test]
    fn known_talkers_with_a_type_are_nmea() {
        for ok in [
            "GPGGA,1",
            "GNRMC,",
            "BDGSV,",
            "GBGSA",
            "QZGSV,",
            "GYOACC,",
            "SNRSTAT,1",
            "STI,IC",
            "SDDBT,",
            "WIMWV,",
            "IIXDR,",
            "APHDM,",
            "AIVDM,",
            "Ack 1",
            "GPRTE*37",
        ] {
            assert!(dollar(ok), "{ok}");
        }
        // Proprietary: P and a letter, then whatever the vendor says.
        for ok in [
            "PGRME,3.0,M",
            "PMGNST,",
            "PRHS ,x",
            "PSRFTXT Version",
            "PQTMVER,1",
        ] {
            assert!(dollar(ok), "{ok}");
        }
    }

    #[test]
    fn what_gpsd_does_not_take_is_not_nmea() {
        for bad in [
            "LOG108,1,100",
            "IMGSA,A",
            "Kernel: x",
            "ver 1",
            "SkyTraq",
            "GP,1,2",
            "GP",
            "",
            "G",
            "P1ABC,",
            "GPG A,",
            "12345,",
            "gpgga,",
        ] {
            assert!(!dollar(bad), "{bad}");
        }
        assert!(is_valid(b'!', b"AIVDM,1,1"));
        assert!(is_valid(b'!', b"BSVDO,1"));
        assert!(!is_valid(b'!', b"GPGGA,1"));
        assert!(!is_valid(b'!', b"AI1"));
        assert!(!is_valid(b'#', b"GPGGA"));
    }
}
