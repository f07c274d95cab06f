use super::*;

/// Frames `input` pushed in chunks of `chunk` bytes; accepted lines as strings, rejects by name.
fn frame(input: &[u8], chunk: usize, config: FramerConfig) -> Vec<Result<String, Reject>> {
    let mut framer = Framer::new(config);
    let mut out = Vec::new();
    for piece in input.chunks(chunk.max(1)) {
        framer.push(piece, |r| out.push(r.map(|line| line.raw().to_owned())));
    }
    out
}

fn frame_default(input: &[u8]) -> Vec<Result<String, Reject>> {
    frame(input, input.len(), FramerConfig::default())
}

fn parsed(raw: &str) -> Parsed<'_> {
    let line = Line {
        raw: raw.as_bytes(),
        payload: &raw.as_bytes()[1..raw.rfind('*').unwrap_or(raw.len())],
    };
    decode(line).unwrap_or_else(|e| panic!("{raw}: {e}"))
}

const GGA: &str = "$GPGGA,120824.76,3908.8199,N,00023.0832,W,1,08,0.9,545.4,M,46.9,M,,*7B";

#[test]
fn checksum_is_checked_in_either_case() {
    let ok = format!("{GGA}\r\n");
    assert_eq!(frame_default(ok.as_bytes()), vec![Ok(GGA.to_owned())]);
    assert_eq!(
        frame_default(b"$GPRMB,V,,,,,,,,,,,,A,S*0e\n"),
        vec![Ok("$GPRMB,V,,,,,,,,,,,,A,S*0e".to_owned())]
    );
    assert_eq!(
        frame_default(b"$GPRMB,V,,,,,,,,,,,,A,S*0F\n"),
        vec![Err(Reject::BadChecksum)]
    );
    assert_eq!(
        frame_default(b"$GPRMB,V,,,,,,,,,,,,A,S*0\n"),
        vec![Err(Reject::MalformedChecksum)]
    );
}

#[test]
fn an_address_gpsd_does_not_take_is_rejected_as_such() {
    // The RGM-3800's logging line, from the gpsd corpus: a valid checksum, not NMEA.
    let input = b"$LOG108,1,100,100,0,0,5,0,4,462*61\r\n$GPGSA,A,1,,,,,,,,,,,,,,,*1E\r\n";
    assert_eq!(
        frame_default(input),
        vec![
            Err(Reject::BadAddress),
            Ok("$GPGSA,A,1,,,,,,,,,,,,,,,*1E".to_owned())
        ]
    );
    assert_eq!(Reject::BadAddress.name(), "bad_address");
    // A garbled line is still a bad checksum, whatever its address.
    assert_eq!(
        frame_default(b"$LOG108,1,100,100,0,0,5,0,4,462*62\r\n"),
        vec![Err(Reject::BadChecksum)]
    );
}

#[test]
fn missing_checksum_is_rejected_unless_configured() {
    let input = b"$GPGGA,120824,3908.8199,N,00023.0832,W,1,08,0.9,545.4,M,46.9,M,,\r\n";
    assert_eq!(frame_default(input), vec![Err(Reject::NoChecksum)]);
    let lenient = FramerConfig {
        accept_missing_checksum: true,
    };
    let accepted = frame(input, 7, lenient);
    assert_eq!(accepted.len(), 1);
    let raw = accepted[0].as_ref().unwrap();
    let mut framer = Framer::new(lenient);
    framer.push(input, |r| {
        let line = r.unwrap();
        assert_eq!(line.raw(), raw);
        assert!(decode(line).unwrap().measured_position().is_some());
    });
}

#[test]
fn framer_resynchronises_after_junk() {
    let input = b"ial line*00\r\n\x00\xff\xfe$$GPGGA junk\x01$GPBOD,,T,,M,,*47\r\n\
                  $GPBOD,,T,,M,$GPBOD,,T,,M,,*47\r\r\n!AIVDM,1,1,,A,15M67FC000G?ufbE`FepT@3n00Sa,0*5F\n";
    let got = frame_default(input);
    assert_eq!(
        got,
        vec![
            Err(Reject::Junk),
            Err(Reject::Binary),
            Ok("$GPBOD,,T,,M,,*47".to_owned()),
            Err(Reject::Interrupted),
            Ok("$GPBOD,,T,,M,,*47".to_owned()),
            Ok("!AIVDM,1,1,,A,15M67FC000G?ufbE`FepT@3n00Sa,0*5F".to_owned()),
        ]
    );
}

#[test]
fn doubled_leader_is_not_a_reject() {
    assert_eq!(
        frame_default(b"$$GPBOD,,T,,M,,*47\n"),
        vec![Ok("$GPBOD,,T,,M,,*47".to_owned())]
    );
}

#[test]
fn every_split_point_gives_the_same_result() {
    let input = format!("junk\n{GGA}\r\n$$GPBOD,,T,,M,,*47\r\n$GPBOD,,T\x07,M,,*47\n{GGA}");
    let whole = frame_default(format!("{input}\n").as_bytes());
    for chunk in 1..input.len() {
        assert_eq!(
            frame(
                format!("{input}\n").as_bytes(),
                chunk,
                FramerConfig::default()
            ),
            whole,
            "chunk size {chunk}"
        );
    }
}

#[test]
fn long_lines_are_bounded() {
    let longest_ok = with_checksum(&format!("P{}", "A".repeat(MAX_SENTENCE_LEN - 5)));
    assert_eq!(longest_ok.len(), MAX_SENTENCE_LEN);
    let flood = format!("$GP{}\n{GGA}\n", "9".repeat(10_000));
    for chunk in [1, 3, 100, 4096, flood.len()] {
        assert_eq!(
            frame(
                format!("{longest_ok}\n").as_bytes(),
                chunk,
                FramerConfig::default()
            ),
            vec![Ok(longest_ok.clone())]
        );
        assert_eq!(
            frame(
                format!("{longest_ok}Z\n").as_bytes(),
                chunk,
                FramerConfig::default()
            ),
            vec![Err(Reject::TooLong)]
        );
        assert_eq!(
            frame(flood.as_bytes(), chunk, FramerConfig::default()),
            vec![Err(Reject::TooLong), Ok(GGA.to_owned())]
        );
    }
}

#[test]
fn gga_decodes_and_quality_6_and_8_are_not_measured() {
    let p = parsed(GGA);
    assert_eq!((p.talker(), p.kind), ("GP", "GGA"));
    let Sentence::Gga(gga) = p.sentence else {
        panic!("not GGA")
    };
    assert_eq!(gga.quality, Some(FixQuality::Gps));
    assert_eq!((gga.satellites, gga.hdop), (Some(8), Some(0.9)));
    let pos = p.measured_position().unwrap();
    assert!((pos.lat - 39.146_998_333).abs() < 1e-9 && (pos.lon + 0.38472).abs() < 1e-9);
    assert_eq!(p.time().unwrap().to_string(), "12:08:24.760");
    for quality in ["6", "8", "0"] {
        let raw = GGA.replacen(",1,08,", &format!(",{quality},08,"), 1);
        let p = parsed(&raw);
        assert!(p.position().is_some());
        assert_eq!(p.measured_position(), None, "quality {quality}");
    }
}

#[test]
fn any_talker_decodes() {
    for talker in ["GP", "GN", "GL", "GA", "GB", "BD", "GQ"] {
        let raw =
            format!("${talker}RMC,081836,A,3751.65,S,14507.36,E,000.0,360.0,130998,011.3,E*62");
        let p = parsed(&raw);
        assert_eq!((p.talker(), p.kind), (talker, "RMC"));
        let Sentence::Rmc(rmc) = p.sentence else {
            panic!("not RMC")
        };
        assert_eq!(rmc.date.unwrap().to_string(), "1998-09-13");
        assert!(p.measured_position().is_some());
    }
}

#[test]
fn rmc_mode_estimated_or_simulated_is_not_measured() {
    for (mode, measured) in [
        ("A", true),
        ("D", true),
        ("E", false),
        ("S", false),
        ("N", false),
    ] {
        let raw =
            format!("$GPRMC,125106,A,3854.5087,N,07726.4523,W,0.0,0.0,241011,10.5,W,{mode}*28");
        assert_eq!(
            parsed(&raw).measured_position().is_some(),
            measured,
            "{mode}"
        );
    }
}

#[test]
fn gll_in_both_nmea_versions() {
    let old = parsed("$GPGLL,4527.458,S,16709.165,E,225309,A*3E");
    let new = parsed("$GPGLL,4527.458,S,16709.165,E,225309,A,A*3E");
    assert_eq!(old.measured_position(), new.measured_position());
    assert!(old.measured_position().is_some());
    assert_eq!(old.time().unwrap().to_string(), "22:53:09.000");
    assert_eq!(
        parsed("$GPGLL,4527.458,S,16709.165,E,225309,V*3E").measured_position(),
        None
    );
}

#[test]
fn gsv_gsa_vtg_shapes() {
    let Sentence::Gsv(empty) = parsed("$GPGSV,1,1,00*79").sentence else {
        panic!()
    };
    assert_eq!(
        (empty.satellites_in_view, empty.satellites().count()),
        (Some(0), 0)
    );
    let Sentence::Gsv(gsv) = parsed("$GPGSV,3,3,10,24,06,166,35,28,09,271,*7D").sentence else {
        panic!()
    };
    let satellites: Vec<_> = gsv.satellites().collect::<Result<_, _>>().unwrap();
    assert_eq!(satellites.len(), 2);
    assert_eq!((satellites[1].prn, satellites[1].snr), (28, None));
    // NMEA 4.10 ends GSV with a signal id; a malformed satellite field ends the list with its
    // error, numbered as in the NMEA tables.
    let Sentence::Gsv(signal) = parsed("$GAGSV,1,1,01,11,45,120,38,7").sentence else {
        panic!()
    };
    let prns: Vec<u16> = signal.satellites().map(|s| s.unwrap().prn).collect();
    assert_eq!(prns, [11]);
    let Sentence::Gsv(bad) = parsed("$GPGSV,1,1,02,11,45,1x0,38,12,10,200,").sentence else {
        panic!()
    };
    let read: Vec<_> = bad.satellites().collect();
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].unwrap_err().field, 6);
    let Sentence::Gsa(gsa) = parsed("$GPGSA,A,3,03,07,08,,,,,,,,,,3.6,2.0,*3A").sentence else {
        panic!()
    };
    assert_eq!(
        (gsa.prns(), gsa.hdop, gsa.vdop),
        (&[3u16, 7, 8][..], Some(2.0), None)
    );
    let Sentence::Vtg(old) = parsed("$GPVTG,054.7,034.4,005.5,010.2*00").sentence else {
        panic!()
    };
    let Sentence::Vtg(new) = parsed("$GPVTG,054.7,T,034.4,M,005.5,N,010.2,K,A*00").sentence else {
        panic!()
    };
    assert_eq!(
        (old.speed_kmh, new.speed_kmh, new.mode),
        (Some(10.2), Some(10.2), Some(b'A'))
    );
}

#[test]
fn zda_tolerates_odd_zones() {
    for (zone, hours) in [
        (",+00,00", Some(0)),
        (",-05,00", Some(-5)),
        (",,", None),
        (",x,", None),
    ] {
        let raw = format!("$GPZDA,201530.00,04,07,2002{zone}*00");
        let Sentence::Zda(zda) = parsed(&raw).sentence else {
            panic!()
        };
        assert_eq!(zda.zone_hours, hours, "{zone}");
        assert_eq!(zda.date.unwrap().to_string(), "2002-07-04");
    }
}

#[test]
fn gst_gns_and_garmin_error_estimates() {
    let Sentence::Gst(gst) =
        parsed("$GPGST,172814.0,0.006,0.023,0.020,273.6,0.023,0.020,0.031*6A").sentence
    else {
        panic!()
    };
    assert!((gst.horizontal_sigma().unwrap() - 0.023f64.hypot(0.020)).abs() < 1e-12);
    let gns = parsed("$GNGNS,014035.00,4332.69262,S,17235.48549,E,RR,13,0.9,25.63,11.24,,*70");
    assert!(gns.measured_position().is_some());
    assert_eq!(
        parsed("$GNGNS,074150.799,,,,,NNNN,00,,,0.0,,0000*00").measured_position(),
        None
    );
    let Sentence::Pgrme(e) = parsed("$PGRME,15.0,M,45.0,M,25.0,M*1C").sentence else {
        panic!()
    };
    assert_eq!(
        (e.horizontal, e.vertical, e.spherical),
        (Some(15.0), Some(45.0), Some(25.0))
    );
    let Sentence::Pgrmz(z) = parsed("$PGRMZ,93,f,3*21").sentence else {
        panic!()
    };
    assert!((z.altitude_m.unwrap() - 28.3464).abs() < 1e-9);
    let Sentence::Pgrmm(m) = parsed("$PGRMM,WGS 84*06").sentence else {
        panic!()
    };
    assert_eq!(m.datum, "WGS 84");
    let Sentence::Pgrmt(t) = parsed("$PGRMT,GPS 15L/15H VER 2.05,,,,,,,,*6A").sentence else {
        panic!()
    };
    assert_eq!(t.product, "GPS 15L/15H VER 2.05");
}

#[test]
fn waypoints_and_routes() {
    let wpl = parsed("$GPWPL,4917.16,N,12310.64,W,003*65");
    let Sentence::Wpl(w) = wpl.sentence else {
        panic!()
    };
    assert_eq!(w.name, "003");
    assert!((w.position.unwrap().lat - (49.0 + 17.16 / 60.0)).abs() < 1e-9);
    let Sentence::Rte(r) = parsed("$GPRTE,2,1,c,0,W3IWI,DRIVWY,32CEDR*69").sentence else {
        panic!()
    };
    assert_eq!(
        (r.sentence_count, r.sentence_number, r.kind, r.route_id),
        (2, 1, b'c', "0")
    );
    assert_eq!(
        r.waypoints().collect::<Vec<_>>(),
        ["W3IWI", "DRIVWY", "32CEDR"]
    );
    let Sentence::Rte(empty) = parsed("$GPRTE,1,1,c,*37").sentence else {
        panic!()
    };
    assert_eq!(empty.waypoints().count(), 0);
    let Sentence::Pmgnwpl(m) =
        parsed("$PMGNWPL,3339.889,N,11736.283,W,0000155,M,CORNER1,first corner,a*00").sentence
    else {
        panic!()
    };
    assert_eq!(
        (m.name, m.comment, m.altitude_m),
        ("CORNER1", "first corner", Some(155.0))
    );
    let Sentence::Pmgnrte(mr) = parsed("$PMGNRTE,2,1,c,1,PLOT7,C1,a,C2,b*00").sentence else {
        panic!()
    };
    assert_eq!(mr.waypoints().collect::<Vec<_>>(), ["C1", "C2"]);
    assert_eq!((mr.route_id, mr.name()), ("1", Some("PLOT7")));
    let Sentence::Pmgnrte(unnamed) = parsed("$PMGNRTE,2,1,c,1,C1,a,C2,b*00").sentence else {
        panic!()
    };
    assert_eq!(unnamed.waypoints().collect::<Vec<_>>(), ["C1", "C2"]);
    assert_eq!(unnamed.name(), None);
    let Sentence::Pmgnrte(blank) = parsed("$PMGNRTE,2,1,c,1,,C1,a*00").sentence else {
        panic!()
    };
    assert_eq!((blank.name(), blank.waypoints().count()), (None, 1));
    let Sentence::Rte(rte) = parsed("$GPRTE,1,1,c,PLOT7,C1*00").sentence else {
        panic!()
    };
    assert_eq!((rte.route_id, rte.name()), ("PLOT7", None));
    let Sentence::Bod(b) = parsed("$GPBOD,099.3,T,105.6,M,POINTB,POINTA*48").sentence else {
        panic!()
    };
    assert_eq!((b.destination, b.origin), ("POINTB", "POINTA"));
    let Sentence::Rmb(rmb) =
        parsed("$GPRMB,A,0.66,L,003,004,4917.24,N,12309.57,W,001.3,052.5,000.5,V*20").sentence
    else {
        panic!()
    };
    assert_eq!(
        (rmb.origin, rmb.destination, rmb.arrived),
        ("003", "004", Some(b'V'))
    );
}

#[test]
fn unknown_sentences_pass_through_and_bad_fields_are_errors() {
    let p = parsed("$PSRFTXT,Version 2.3*00");
    assert_eq!((p.kind, p.sentence), ("PSRFTXT", Sentence::Other));
    let line = Line {
        raw: b"$GPGGA,120824,9100.0,N,00023.0832,W,1,08,0.9,545.4,M,46.9,M,,*00",
        payload: b"GPGGA,120824,9100.0,N,00023.0832,W,1,08,0.9,545.4,M,46.9,M,,",
    };
    let err = decode(line).unwrap_err();
    assert_eq!(
        (err.kind, err.error.field, err.error.problem),
        ("GGA", 2, Problem::PositionOutOfRange)
    );
}
