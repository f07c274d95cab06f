//! What `mark` and `close-plot` print for the officer at the terminal: one or two plain lines
//! from the bridge's reply, instead of the reply itself (which carries every raw sentence, for
//! audit, and is printed whole with `--json`).

use serde_json::Value;

use crate::outbox::PlotSummary;
use crate::survey::{Corner, PlotCandidate};

fn hemisphere(value: f64, positive: char, negative: char) -> String {
    let letter = if value < 0.0 { negative } else { positive };
    format!("{:.7}° {letter}", value.abs())
}

fn position(corner: &Corner) -> String {
    format!(
        "{}, {}",
        hemisphere(corner.lat, 'N', 'S'),
        hemisphere(corner.lon, 'E', 'W')
    )
}

fn sigma(sigma_m: Option<f64>) -> String {
    sigma_m.map_or_else(
        || "accuracy unknown".to_owned(),
        |s| format!("±{s:.1} m (1σ)"),
    )
}

/// The reply to a `mark`: the corner as recorded.
pub fn mark(reply: &Value) -> Option<String> {
    let corner: Corner = serde_json::from_value(reply.get("corner")?.clone()).ok()?;
    let early = if reply.get("cut_short") == Some(&Value::Bool(true)) {
        " (ended early: the unit went away or the bridge is stopping)"
    } else {
        ""
    };
    Some(format!(
        "corner {} recorded (mark {}, {}): {}, {} from {} fixes{early}",
        corner.name,
        reply.get("mark_id")?,
        reply.get("port")?.as_str()?,
        position(&corner),
        sigma(corner.sigma_m),
        corner.fixes,
    ))
}

/// The reply to a `close-plot`: the candidate and its corners, the least accurate first named.
pub fn close_plot(reply: &Value) -> Option<String> {
    let plot: PlotCandidate = serde_json::from_value(reply.get("plot")?.clone()).ok()?;
    let names: Vec<&str> = plot.corners.iter().map(|c| c.name.as_str()).collect();
    let worst = plot
        .corners
        .iter()
        .filter_map(|c| c.sigma_m.map(|s| (s, c.name.as_str())))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let accuracy = match worst {
        Some((s, name)) => format!("least accurate corner {name} {}", sigma(Some(s))),
        None => sigma(None),
    };
    let checked = reply
        .get("outbox")
        .and_then(|o| serde_json::from_value::<PlotSummary>(o.clone()).ok())
        .map(|p| {
            format!(
                "; plot {}: {}, area {}",
                p.id,
                p.state.label(),
                crate::views::area_text(&p)
            )
        })
        .unwrap_or_default();
    Some(format!(
        "plot candidate {} \"{}\" recorded: {} corners ({}), {accuracy}{checked}",
        reply.get("plot_id")?,
        plot.name,
        names.len(),
        names.join(" → "),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn corner(name: &str, lat: f64, sigma_m: Option<f64>) -> Value {
        json!({"name": name, "lon": 112.6197577, "lat": lat, "sigma_m": sigma_m, "fixes": 10,
               "raw": ["$GPGGA,120326,2552.1979,N,11237.1858,E,1,08,1.0,52.4,M,-8.7,M,,*6A"]})
    }

    #[test]
    fn a_mark_reads_as_one_line_without_the_raw_sentences() {
        let reply = json!({"ok": true, "mark_id": 7, "port": "/dev/ttyUSB0",
                           "corner": corner("J4", 25.8699662, Some(2.8142))});
        assert_eq!(
            mark(&reply).unwrap(),
            "corner J4 recorded (mark 7, /dev/ttyUSB0): 25.8699662° N, 112.6197577° E, \
             ±2.8 m (1σ) from 10 fixes"
        );
        let south = json!({"ok": true, "mark_id": 1, "port": "p",
                           "corner": corner("J1", -33.5, None)});
        assert!(mark(&south).unwrap().contains("33.5000000° S"));
        assert!(mark(&south).unwrap().contains("accuracy unknown"));
        // A refusal has no corner: the caller prints its error instead.
        assert_eq!(mark(&json!({"ok": false, "error": "no fix"})), None);
    }

    #[test]
    fn a_closed_plot_names_its_corners_and_the_least_accurate_one() {
        let reply = json!({"ok": true, "plot_id": 3, "plot": {
            "name": "demo-homestead", "source": "corner_capture", "device": "/dev/ttyUSB0",
            "corners": [corner("J1", 25.1, Some(2.1)), corner("J2", 25.2, Some(3.4)),
                        corner("J3", 25.3, None)],
            "raw": []}});
        assert_eq!(
            close_plot(&reply).unwrap(),
            "plot candidate 3 \"demo-homestead\" recorded: 3 corners (J1 → J2 → J3), \
             least accurate corner J2 ±3.4 m (1σ)"
        );
        let mut checked = reply.clone();
        checked["outbox"] = json!({"id": 9, "candidate_id": 3, "name": "demo-homestead",
            "state": "pending", "area_m2": 312.4, "area_sigma_m2": 41.0, "duplicate_of": null,
            "recorded_at": "2026-12-01T08:00:00Z", "attempts": 0, "upstream_plot_id": null,
            "delivered_at": null, "rejection": null});
        assert!(
            close_plot(&checked)
                .unwrap()
                .ends_with("; plot 9: 待上传 pending, area 310 ± 40 m² (0.47 ± 0.06 亩)"),
            "{}",
            close_plot(&checked).unwrap()
        );
    }
}
