//! What `mark` and `close-plot` print for the officer at the terminal: the bridge's reply in
//! two plain lines, Chinese then English, instead of the reply itself (which carries every raw
//! sentence, for audit, and is printed whole with `--json`).

use serde_json::Value;

use crate::outbox::{PlotState, PlotSummary};
use crate::plot::area;
use crate::survey::{Corner, PlotCandidate};

/// A position: Chinese (北纬 25.8699662°，东经 112.6197577°) and English (25.8699662° N, …).
fn position(corner: &Corner) -> (String, String) {
    let (lat, lon) = (corner.lat.abs(), corner.lon.abs());
    let (ns_zh, ns) = if corner.lat < 0.0 {
        ("南纬", 'S')
    } else {
        ("北纬", 'N')
    };
    let (ew_zh, ew) = if corner.lon < 0.0 {
        ("西经", 'W')
    } else {
        ("东经", 'E')
    };
    (
        format!("{ns_zh} {lat:.7}°，{ew_zh} {lon:.7}°"),
        format!("{lat:.7}° {ns}, {lon:.7}° {ew}"),
    )
}

/// A corner's 1σ: Chinese, English.
fn sigma(sigma_m: Option<f64>) -> (String, String) {
    match sigma_m {
        Some(s) => (format!("误差 ±{s:.1} 米（1σ）"), format!("±{s:.1} m (1σ)")),
        None => ("误差未知".to_owned(), "accuracy unknown".to_owned()),
    }
}

/// The reply to a `mark`: the corner as recorded.
pub fn mark(reply: &Value) -> Option<String> {
    let corner: Corner = serde_json::from_value(reply.get("corner")?.clone()).ok()?;
    let (early_zh, early_en) = if reply.get("cut_short") == Some(&Value::Bool(true)) {
        (
            "（提前结束：接收机已拔下或网桥正在停止）",
            " (ended early: the unit went away or the bridge is stopping)",
        )
    } else {
        ("", "")
    };
    let (mark_id, port) = (reply.get("mark_id")?, reply.get("port")?.as_str()?);
    let (position_zh, position_en) = position(&corner);
    let (sigma_zh, sigma_en) = sigma(corner.sigma_m);
    Some(format!(
        "界址点 {name} 已记录（第 {mark_id} 号点，{port}）：{position_zh}，{sigma_zh}，\
         {fixes} 次定位平均{early_zh}\n\
         corner {name} recorded (mark {mark_id}, {port}): {position_en}, {sigma_en} from {fixes} \
         fixes{early_en}",
        name = corner.name,
        fixes = corner.fixes,
    ))
}

/// What the checks said of a closed plot: Chinese, English.
fn checked(plot: &PlotSummary) -> (String, String) {
    let id = plot.id;
    let (area_zh, area_en) = plot.area_m2.map_or_else(
        || ("面积未计算".to_owned(), "area not computed".to_owned()),
        |m2| {
            let shown = area::shown(m2, plot.area_sigma_m2);
            (format!("面积 {}", shown.zh), format!("area {}", shown.en))
        },
    );
    let (mut zh, mut en) = (
        format!("地块 {id}：{}，{area_zh}", plot.state.zh()),
        format!("plot {id}: {}, {area_en}", plot.state.as_str()),
    );
    match (plot.state, &plot.refusal) {
        (PlotState::Duplicate, _) => {
            if let Some(earlier) = plot.duplicate_of {
                zh.push_str(&format!("，与地块 {earlier} 重复，不会上传"));
                en.push_str(&format!(", a duplicate of plot {earlier}, not to be sent"));
            }
        }
        (PlotState::Refused, Some(refusal)) => {
            zh.push_str(&format!("。原因：{}", refusal.zh));
            en.push_str(&format!(". Why: {}", refusal.en));
        }
        _ => {}
    }
    if plot.warnings > 0 {
        zh.push_str(&format!("；{} 项警告", plot.warnings));
        en.push_str(&format!("; {} warnings", plot.warnings));
    }
    zh.push_str(&format!("。详见 gps-bridge show {id}"));
    en.push_str(&format!(". See gps-bridge show {id}"));
    (zh, en)
}

/// The reply to a `close-plot`: the plot's corners, the least accurate named, and what the
/// checks said of it.
pub fn close_plot(reply: &Value) -> Option<String> {
    let plot: PlotCandidate = serde_json::from_value(reply.get("plot")?.clone()).ok()?;
    let names: Vec<&str> = plot.corners.iter().map(|c| c.name.as_str()).collect();
    let worst = plot
        .corners
        .iter()
        .filter_map(|c| c.sigma_m.map(|s| (s, c.name.as_str())))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let (accuracy_zh, accuracy_en) = match worst {
        Some((s, name)) => {
            let (zh, en) = sigma(Some(s));
            (
                format!("精度最差的是 {name}，{zh}"),
                format!("least accurate corner {name} {en}"),
            )
        }
        None => sigma(None),
    };
    let (checked_zh, checked_en) = reply
        .get("outbox")
        .and_then(|o| serde_json::from_value::<PlotSummary>(o.clone()).ok())
        .map_or_else(
            || {
                (
                    "尚未检查，稍后用 gps-bridge plots 查看".to_owned(),
                    "not checked yet; see gps-bridge plots later".to_owned(),
                )
            },
            |p| checked(&p),
        );
    let count = names.len();
    let corners = names.join(" → ");
    Some(format!(
        "已记录地块“{name}”：{count} 个界址点（{corners}），{accuracy_zh}。{checked_zh}\n\
         plot \"{name}\" recorded: {count} corners ({corners}), {accuracy_en}. {checked_en}",
        name = plot.name,
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
    fn a_mark_reads_as_two_lines_without_the_raw_sentences() {
        let reply = json!({"ok": true, "mark_id": 7, "port": "/dev/ttyUSB0",
                           "corner": corner("J4", 25.8699662, Some(2.8142))});
        assert_eq!(
            mark(&reply).unwrap(),
            "界址点 J4 已记录（第 7 号点，/dev/ttyUSB0）：北纬 25.8699662°，东经 112.6197577°，\
             误差 ±2.8 米（1σ），10 次定位平均\n\
             corner J4 recorded (mark 7, /dev/ttyUSB0): 25.8699662° N, 112.6197577° E, \
             ±2.8 m (1σ) from 10 fixes"
        );
        let south = json!({"ok": true, "mark_id": 1, "port": "p", "cut_short": true,
                           "corner": corner("J1", -33.5, None)});
        let text = mark(&south).unwrap();
        assert!(text.contains("南纬 33.5000000°") && text.contains("33.5000000° S"));
        assert!(text.contains("误差未知") && text.contains("accuracy unknown"));
        assert!(text.contains("提前结束") && text.contains("ended early"));
        // A refusal has no corner: the caller prints its error instead.
        assert_eq!(mark(&json!({"ok": false, "error": "no fix"})), None);
    }

    fn summary(state: &str) -> Value {
        json!({"id": 9, "candidate_id": 3, "name": "demo-homestead", "state": state,
            "area_m2": 312.4, "area_sigma_m2": 41.0, "duplicate_of": null,
            "recorded_at": "2026-12-01T08:00:00Z", "attempts": 0, "upstream_plot_id": null,
            "delivered_at": null, "rejection": null, "refusal": null, "warnings": 2})
    }

    #[test]
    fn a_closed_plot_names_its_corners_the_least_accurate_one_and_what_the_checks_said() {
        let reply = json!({"ok": true, "plot_id": 3, "plot": {
            "name": "demo-homestead", "source": "corner_capture", "device": "/dev/ttyUSB0",
            "corners": [corner("J1", 25.1, Some(2.1)), corner("J2", 25.2, Some(3.4)),
                        corner("J3", 25.3, None)],
            "raw": []}});
        assert_eq!(
            close_plot(&reply).unwrap(),
            "已记录地块“demo-homestead”：3 个界址点（J1 → J2 → J3），精度最差的是 J2，\
             误差 ±3.4 米（1σ）。尚未检查，稍后用 gps-bridge plots 查看\n\
             plot \"demo-homestead\" recorded: 3 corners (J1 → J2 → J3), least accurate \
             corner J2 ±3.4 m (1σ). not checked yet; see gps-bridge plots later"
        );
        let mut pending = reply.clone();
        pending["outbox"] = summary("pending");
        let text = close_plot(&pending).unwrap();
        let (zh, en) = text.split_once('\n').unwrap();
        assert!(
            zh.ends_with(
                "地块 9：待上传，面积 310 ± 40 平方米（0.47 ± 0.06 亩）；2 项警告。\
                 详见 gps-bridge show 9"
            ),
            "{zh}"
        );
        assert!(
            en.ends_with(
                "plot 9: pending, area 310 ± 40 m² (0.47 ± 0.06 mu); 2 warnings. \
                 See gps-bridge show 9"
            ),
            "{en}"
        );
        // A refused plot says why, right away.
        let mut refused = reply.clone();
        refused["outbox"] = summary("refused");
        refused["outbox"]["refusal"] = serde_json::to_value(crate::plot::Finding::new(
            crate::plot::FindingKind::Collinear { ring: 0 },
        ))
        .unwrap();
        let text = close_plot(&refused).unwrap();
        assert!(
            text.contains("未通过检查，面积 310 ± 40 平方米（0.47 ± 0.06 亩）。原因：外边界的所有界址点在一条直线上")
                && text.contains("Why: All corners of the outer boundary lie on one straight line"),
            "{text}"
        );
        let mut duplicate = reply;
        duplicate["outbox"] = summary("duplicate");
        duplicate["outbox"]["duplicate_of"] = json!(4);
        let text = close_plot(&duplicate).unwrap();
        assert!(
            text.contains("与地块 4 重复，不会上传") && text.contains("a duplicate of plot 4"),
            "{text}"
        );
    }
}
