//! The kiosk screen, driven headless through Slint's testing backend: touches found by their
//! accessible labels, keys as keyboards and scanners send them, time as Slint's mock time.
//! The full lookup flow and a content release arriving run against a real egov-sim.

mod common;
mod ui_support;

use std::sync::Arc;

use chrono::Utc;
use kiosk::config::Config;
use kiosk::daemon::DataPlane;
use kiosk::heartbeat::NoScreen;
use kiosk::mirror::Mirror;
use kiosk::ui::screenshots::{CASE_IN_REVIEW, CASE_LONG, OTHER_HALL};
use kiosk::ui::{
    AppAdapter, GuideAdapter, GuideView, LookupAdapter, LookupMessage, LookupStep, Page,
    ProgressAdapter, RatingAdapter, RatingStage, Theme,
};
use rand::{Rng, SeedableRng};
use slint::{ComponentHandle, Model};
use ui_support::{Screen, on_ui_thread};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The message of the lookup page, and whether a visitor can press 查询.
fn lookup_message(screen: &Screen) -> LookupMessage {
    screen.ui().global::<LookupAdapter>().get_message()
}

fn failures(config: &Config) -> i64 {
    Mirror::open(&config.mirror_path())
        .unwrap()
        .conn()
        .query_row("SELECT count(*) FROM lookup_failures", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_case_synced_from_egov_sim_is_found_in_three_touches_after_typing() {
    let sim = common::Sim::start(400, &[]);
    let dir = tempfile::tempdir().unwrap();
    let config = Config::load(&common::write_config(dir.path(), &sim, 200)).unwrap();
    let plane = DataPlane::prepare(config.clone(), Arc::new(NoScreen)).unwrap();
    runtime().block_on(plane.case_sync().run_once()).unwrap();
    let (case_no, code) = sim.lookups("GY").into_iter().next().unwrap();
    let (_, upstream) = sim.hall_cases().remove(&case_no).unwrap();
    on_ui_thread(false, move || {
        let screen = Screen::open(config, dir);
        let mut touches = 0;
        screen.touch("办件进度查询");
        touches += 1;
        screen.keypad(&case_no);
        screen.touch("下一步");
        touches += 1;
        screen.keypad(&code);
        screen.touch("查询");
        touches += 1;
        screen.answers();
        assert_eq!(touches, 3);
        assert_eq!(screen.page(), Page::Progress);
        // What the upstream holds is what the visitor reads.
        let shown = screen.ui().global::<ProgressAdapter>().get_case();
        assert_eq!(shown.case_no, upstream.case_no.as_str());
        assert_eq!(shown.kind_label, upstream.kind_label.as_str());
        assert!(screen.shows(&upstream.applicant), "{:?}", screen.labels());
        let rows = screen.ui().global::<ProgressAdapter>().get_rows();
        let steps: usize = rows.iter().map(|r| r.steps.row_count()).sum();
        assert_eq!(steps, upstream.steps.len());
        let labels: Vec<String> = rows
            .iter()
            .flat_map(|r| {
                r.steps
                    .iter()
                    .map(|s| s.label.to_string())
                    .collect::<Vec<_>>()
            })
            .collect();
        let expected: Vec<String> = upstream.steps.iter().map(|s| s.label.clone()).collect();
        let mut sorted = (labels.clone(), expected.clone());
        sorted.0.sort();
        sorted.1.sort();
        assert_eq!(sorted.0, sorted.1);
        // The first steps are on screen; the rest come into view as the visitor scrolls.
        assert!(screen.shows(&upstream.steps[0].label));
        // Parallel steps (the joint review) share a line.
        let groups = upstream.steps.iter().filter(|s| s.group == 2).count();
        if groups > 1 {
            assert!(rows.iter().any(|r| r.parallel && r.steps.row_count() > 1));
        }
    });
}

#[test]
fn a_scan_on_any_screen_opens_the_case_with_its_number() {
    on_ui_thread(false, || {
        let screen = Screen::demo();
        // From home: one burst of keys and Enter, as a USB scanner types a receipt.
        screen.scan(CASE_IN_REVIEW.0);
        let lookup = screen.ui().global::<LookupAdapter>();
        assert_eq!(screen.page(), Page::Lookup);
        assert_eq!(lookup.get_step(), LookupStep::Code);
        assert_eq!(lookup.get_case_no(), CASE_IN_REVIEW.0);
        assert!(screen.shows("已扫描受理编号"));
        screen.keypad(CASE_IN_REVIEW.1);
        screen.touch("查询");
        screen.answers();
        assert_eq!(screen.page(), Page::Progress);

        // From a guide: the scan replaces what is shown.
        screen.touch("返回首页");
        screen.touch("办事指南");
        assert_eq!(screen.page(), Page::Guides);
        screen.scan(CASE_LONG.0);
        assert_eq!(screen.page(), Page::Lookup);
        assert_eq!(lookup.get_case_no(), CASE_LONG.0);

        // During the code: a new receipt starts again with its own number.
        screen.keypad("12");
        screen.scan(CASE_IN_REVIEW.0);
        assert_eq!(lookup.get_case_no(), CASE_IN_REVIEW.0);
        assert_eq!(lookup.get_code_dots(), "");

        // A person typing on a keyboard at home is no scan: Enter does nothing there.
        screen.touch("返回首页");
        screen.type_keys("GY2026");
        screen.enter();
        assert_eq!(screen.page(), Page::Home);
    });
}

#[test]
fn scanner_garbage_and_another_halls_numbers_are_told_in_plain_words() {
    on_ui_thread(false, || {
        let screen = Screen::demo();
        for garbage in ["https://weixin.qq.com/r/abc", "%%%###", "6901234567892"] {
            screen.scan(garbage);
            assert_eq!(screen.page(), Page::Lookup, "{garbage}");
            assert_eq!(lookup_message(&screen), LookupMessage::NotACaseNumber);
            assert!(screen.shows("这不是受理编号"));
            assert_eq!(
                screen.ui().global::<LookupAdapter>().get_step(),
                LookupStep::CaseNo
            );
        }
        screen.scan(OTHER_HALL);
        assert_eq!(lookup_message(&screen), LookupMessage::OtherHall);
        assert!(screen.shows("不是本大厅受理的"));
        // None of these was a try: the throttle counted nothing.
        assert_eq!(failures(&screen.config), 0);
        // No code is asked for a number of another hall.
        assert!(!screen.can_touch("查询"));
    });
}

#[test]
fn wrong_codes_lock_the_number_with_a_countdown_and_the_kiosk_after_thirty() {
    on_ui_thread(false, || {
        let screen = Screen::demo();
        let lookup = screen.ui().global::<LookupAdapter>();
        screen.scan(CASE_IN_REVIEW.0);
        for left in (0..5).rev() {
            screen.keypad("0000");
            screen.touch("查询");
            screen.answers();
            if left > 0 {
                assert_eq!(lookup_message(&screen), LookupMessage::NoMatch);
                assert!(screen.shows(&format!("还可尝试 {left} 次")));
            }
        }
        // The fifth wrong code: the number is locked for five minutes, shown counting down.
        screen.keypad("0000");
        screen.touch("查询");
        screen.answers();
        assert_eq!(lookup_message(&screen), LookupMessage::CoolingDown);
        assert_eq!(lookup.get_cooldown_seconds(), 300);
        // The visitor waits, touching the screen now and then (else it would clear itself).
        screen.wait(50);
        screen.press_centre();
        screen.wait(11);
        assert_eq!(lookup.get_cooldown_seconds(), 239);
        assert!(
            screen.shows("请 3 分 59 秒 后再试"),
            "{:?}",
            screen.labels()
        );
        assert!(!screen.can_touch("1"), "the keypad waits too");
        for _ in 0..4 {
            screen.wait(50);
            screen.press_centre();
        }
        screen.wait(39);
        assert_eq!(lookup.get_cooldown_seconds(), 0);
        assert_eq!(lookup_message(&screen), LookupMessage::None);
        screen.keypad(CASE_IN_REVIEW.1);
        screen.touch("查询");
        screen.answers();
        assert_eq!(screen.page(), Page::Progress);

        // Someone walks through numbers: thirty failures lock every lookup on the kiosk.
        for n in 0..30 {
            screen.scan(&format!("GY2026-ZJD-9{n:05}"));
            screen.keypad("1234");
            screen.touch("查询");
            screen.answers();
        }
        // The thirtieth failure still answered "wrong"; the next try finds the kiosk locked.
        assert_eq!(lookup_message(&screen), LookupMessage::NoMatch);
        screen.keypad("1234");
        screen.touch("查询");
        screen.answers();
        assert_eq!(lookup_message(&screen), LookupMessage::KioskLocked);
        // The next person sees why the screen waits before trying.
        screen.touch("返回首页");
        screen.touch("办件进度查询");
        assert_eq!(lookup_message(&screen), LookupMessage::KioskLocked);
        assert!(lookup.get_cooldown_seconds() > 100);
        assert!(screen.shows("本机查询错误次数过多"));
    });
}

#[test]
fn an_idle_screen_warns_then_clears_every_input_and_later_shows_the_notices() {
    on_ui_thread(false, || {
        let screen = Screen::demo();
        let timeout = Mirror::open(&screen.config.mirror_path())
            .unwrap()
            .content_settings()
            .unwrap()
            .unwrap()
            .idle_timeout_s as u64;
        screen.touch("办件进度查询");
        screen.keypad("GY2026");
        screen.wait(timeout - 11);
        assert_eq!(
            screen
                .ui()
                .global::<AppAdapter>()
                .get_idle_warning_seconds(),
            0
        );
        screen.wait(1);
        assert_eq!(
            screen
                .ui()
                .global::<AppAdapter>()
                .get_idle_warning_seconds(),
            10
        );
        assert!(screen.shows("10 秒后返回首页"), "{:?}", screen.labels());
        // A touch keeps the visitor's place.
        screen.touch("G");
        assert_eq!(
            screen
                .ui()
                .global::<AppAdapter>()
                .get_idle_warning_seconds(),
            0
        );
        screen.wait(timeout);
        assert_eq!(screen.page(), Page::Home);
        assert_eq!(screen.ui().global::<LookupAdapter>().get_case_no(), "");
        screen.touch("办件进度查询");
        assert_eq!(screen.ui().global::<LookupAdapter>().get_case_no(), "");
        screen.touch("返回首页");

        // Home at rest: the slideshow of notices after `attract_after_s` (180 s).
        screen.wait(179);
        assert_eq!(screen.page(), Page::Home);
        screen.wait(1);
        assert_eq!(screen.page(), Page::Attract);
        screen.press_centre();
        assert_eq!(screen.page(), Page::Home);
    });
}

#[test]
fn elder_mode_enlarges_the_type_and_waits_twice_as_long() {
    on_ui_thread(false, || {
        let screen = Screen::demo();
        let theme = screen.ui().global::<Theme>();
        let body = theme.get_font_body();
        screen.touch("办事指南");
        let pages = screen.ui().global::<GuideAdapter>().get_pages();
        screen.touch("长者模式");
        assert!(theme.get_elder());
        assert!(theme.get_font_body() >= body * 1.3, "larger type");
        assert!(theme.get_line_height() >= 1.3, "适老化 line spacing");
        assert!(
            screen.ui().global::<GuideAdapter>().get_pages() > pages,
            "fewer rows a page"
        );
        // The sample's 90 s become 180 s.
        screen.wait(100);
        assert_eq!(screen.page(), Page::Guides);
        screen.wait(80);
        assert_eq!(screen.page(), Page::Home);
        // The next visitor starts in the ordinary mode.
        assert!(!theme.get_elder());
    });
}

#[test]
fn the_language_switches_and_back() {
    on_ui_thread(false, || {
        let screen = Screen::demo();
        assert!(screen.can_touch("办件进度查询"));
        screen.touch("English");
        assert!(screen.can_touch("Case progress"), "{:?}", screen.labels());
        assert!(!screen.shows("办件进度查询"));
        screen.touch("Case progress");
        assert!(screen.shows("Step 1 of 2: enter your case number"));
        screen.touch("中文");
        assert!(screen.shows("第 1 步（共 2 步）：输入受理编号"));
        // English ends with the visitor.
        screen.touch("English");
        screen.touch("Home");
        assert!(screen.can_touch("办件进度查询"));
    });
}

#[test]
fn a_content_release_arriving_while_a_guide_is_open_keeps_the_visitor_there() {
    use kiosk::content::{release, sample};
    use protocol::items::Item;

    let sim = common::Sim::start(20, &[]);
    let dir = tempfile::tempdir().unwrap();
    let config = Config::load(&common::write_config(dir.path(), &sim, 100)).unwrap();
    let plane = DataPlane::prepare(config.clone(), Arc::new(NoScreen)).unwrap();
    let rt = runtime();
    type Change<'a> = &'a dyn Fn(&mut Vec<(String, Item)>);
    let publish = |version: u64, change: Change| {
        let mut compiled = sample::builtin();
        change(&mut compiled.items);
        let built = release::build(&compiled, version, Utc::now(), "test", &common::demo_key());
        rt.block_on(built.publish(&sim.admin_client())).unwrap();
        rt.block_on(async {
            let mirror = kiosk::mirror::AsyncMirror::open(
                &config.mirror_path(),
                kiosk::mirror::Durability::Synced,
            )
            .await
            .unwrap();
            plane.content().poll(&mirror, false, Utc::now()).await
        })
    };
    publish(1, &|_| {}).unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let (back_tx, back_rx) = std::sync::mpsc::channel::<()>();
    let config_ui = config.clone();
    let ui = std::thread::spawn(move || {
        on_ui_thread(false, move || {
            let screen = Screen::open(config_ui, dir);
            screen.touch("办事指南");
            screen.touch("农村宅基地审批办事指南");
            let guides = screen.ui().global::<GuideAdapter>();
            assert!(guides.get_detail_pages() >= 2);
            screen.touch("下一页 →");
            assert_eq!(guides.get_detail_page(), 2);
            // The refused release changes nothing on screen.
            tx.send(()).unwrap();
            back_rx.recv().unwrap();
            screen.ui().global::<AppAdapter>().invoke_content_changed();
            assert_eq!(guides.get_detail_page(), 2);
            assert!(!screen.shows("巨巨巨"));
            tx.send(()).unwrap();
            back_rx.recv().unwrap();
            // What the data plane's change notice does in `kiosk run`.
            screen.ui().global::<AppAdapter>().invoke_content_changed();
            assert_eq!(screen.page(), Page::Guides);
            assert_eq!(guides.get_view(), GuideView::Detail);
            assert_eq!(
                guides.get_detail_page(),
                2,
                "the visitor stays on their page"
            );
            // The new fee is in the guide now (it is on one of its pages).
            screen.touch("← 上一页");
            let mut found = false;
            for _ in 0..guides.get_detail_pages() {
                found |= screen.shows("新的收费说明");
                if screen.can_touch("下一页 →") {
                    screen.touch("下一页 →");
                }
            }
            assert!(found, "the released text is shown");
            // A guide withdrawn while open says so.
            screen.touch("← 返回");
            screen.touch("采矿权新立审批办事指南");
            tx.send(()).unwrap();
            back_rx.recv().unwrap();
            screen.ui().global::<AppAdapter>().invoke_content_changed();
            assert!(guides.get_withdrawn());
            assert!(screen.shows("这项内容已撤下或更新"));
            screen.touch("← 返回");
            assert!(!screen.shows("采矿权新立审批办事指南"));
        })
    });
    rx.recv().unwrap();
    // A release with a 10 MB guide is refused by the data plane; the screen keeps the content.
    let huge = publish(2, &|items| {
        for (id, item) in items.iter_mut() {
            if let (true, Item::Guide(g)) = (id == "guides/homestead", item) {
                g.sections.fees = "巨".repeat(3_500_000);
            }
        }
    });
    assert!(huge.is_err(), "{huge:?}");
    back_tx.send(()).unwrap();
    rx.recv().unwrap();
    publish(3, &|items| {
        for (id, item) in items.iter_mut() {
            if let (true, Item::Guide(g)) = (id == "guides/homestead", item) {
                g.sections.fees = "新的收费说明：不收费。".into();
            }
        }
    })
    .unwrap();
    back_tx.send(()).unwrap();
    rx.recv().unwrap();
    publish(4, &|items| {
        items.retain(|(id, _)| id != "guides/mining-right")
    })
    .unwrap();
    back_tx.send(()).unwrap();
    ui.join().unwrap();
}

#[test]
fn the_screen_is_dark_outside_the_display_schedule_until_touched() {
    on_ui_thread(false, || {
        let screen = Screen::demo();
        screen.touch("办件进度查询");
        screen.keypad("GY2026");
        // An administrator's schedule that is off at 10:30.
        let mirror = Mirror::open(&screen.config.mirror_path()).unwrap();
        mirror
            .set_display_schedule(&protocol::devices::DisplaySchedule {
                on: "20:00".into(),
                off: "21:00".into(),
                weekdays: (1..=7).collect(),
            })
            .unwrap();
        screen.kiosk.poll_mirror();
        let app = screen.ui().global::<AppAdapter>();
        assert!(!app.get_display_on());
        assert!(screen.shows("屏幕已关闭"));
        // Nobody finds the last visitor's input on a screen that lights up.
        assert_eq!(screen.ui().global::<LookupAdapter>().get_case_no(), "");
        screen.press_centre();
        assert!(app.get_display_on());
        assert_eq!(screen.page(), Page::Home);
        screen.touch("办事指南");
        screen.wait(95);
        assert!(!app.get_display_on(), "dark again once nobody uses it");
    });
}

#[test]
fn a_site_overlay_that_could_not_be_used_is_said_on_every_screen() {
    on_ui_thread(false, || {
        let dir = tempfile::tempdir().unwrap();
        let config = ui_support::config_in(dir.path());
        kiosk::ui::screenshots::demo_data(&config, None, ui_support::start()).unwrap();
        let screen = Screen::open(config, dir);
        let app = screen.ui().global::<AppAdapter>();
        assert!(!screen.shows("站点设置有误"), "{:?}", screen.labels());
        // As `kiosk run` sets it from the data plane's health (kiosk::app).
        app.set_site_fault(true);
        assert!(screen.shows("站点设置有误"), "{:?}", screen.labels());
        screen.touch("办事指南");
        assert!(screen.shows("站点设置有误"), "{:?}", screen.labels());
        screen.touch("English");
        assert!(
            screen.shows("site settings could not be used"),
            "{:?}",
            screen.labels()
        );
    });
}

#[test]
fn an_empty_or_stale_mirror_says_so_in_plain_words() {
    on_ui_thread(false, || {
        // Never synced: the sample content and no cases.
        let dir = tempfile::tempdir().unwrap();
        let config = ui_support::config_in(dir.path());
        kiosk::content::open_local(&config, Utc::now()).unwrap();
        let screen = Screen::open(config, dir);
        assert!(screen.shows("暂未取得办件数据"));
        screen.touch("办件进度查询");
        screen.keypad(CASE_IN_REVIEW.0);
        screen.touch("下一步");
        assert_eq!(lookup_message(&screen), LookupMessage::NotReady);
        assert!(screen.shows("本机暂未取得办件数据"));
    });
    on_ui_thread(false, || {
        // Synced, then the network went away a day ago.
        let dir = tempfile::tempdir().unwrap();
        let config = ui_support::config_in(dir.path());
        kiosk::ui::screenshots::demo_data(
            &config,
            None,
            ui_support::start() - chrono::Duration::days(1),
        )
        .unwrap();
        let screen = Screen::open(config, dir);
        assert!(screen.shows("可能不是最新"), "{:?}", screen.labels());
        screen.scan(CASE_IN_REVIEW.0);
        screen.keypad(CASE_IN_REVIEW.1);
        screen.touch("查询");
        screen.answers();
        assert!(screen.ui().global::<ProgressAdapter>().get_stale());
        assert!(screen.shows("可能不是最新，请以窗口答复为准"));
    });
}

#[test]
fn a_damaged_or_migrating_mirror_gives_a_plain_message_and_no_rust_error() {
    on_ui_thread(false, || {
        let screen = Screen::demo();
        // As if a migration were half done: the cases table is not where it should be.
        Mirror::open(&screen.config.mirror_path())
            .unwrap()
            .conn()
            .execute_batch("ALTER TABLE cases RENAME TO cases_moved")
            .unwrap();
        screen.scan(CASE_IN_REVIEW.0);
        screen.keypad(CASE_IN_REVIEW.1);
        screen.touch("查询");
        screen.answers();
        assert_eq!(lookup_message(&screen), LookupMessage::Failed);
        assert!(screen.shows("暂时无法查询"));
        for label in screen.labels() {
            for leak in ["rusqlite", "no such table", "Error", "SQLite", "panicked"] {
                assert!(!label.contains(leak), "{label:?} shows {leak:?}");
            }
        }
        // The rest of the kiosk still works.
        screen.touch("返回首页");
        screen.touch("办事指南");
        assert!(screen.can_touch("农村宅基地审批办事指南"));
    });
}

#[test]
fn a_missing_image_and_the_longest_guide_leave_the_pages_usable() {
    on_ui_thread(true, || {
        let screen = Screen::demo();
        let mirror = Mirror::open(&screen.config.mirror_path()).unwrap();
        let media = mirror.media("media/homestead-flow.svg").unwrap().unwrap();
        std::fs::remove_file(screen.config.blob_dir().join(&media.sha256)).unwrap();
        screen.touch("办事指南");
        screen.touch("农村宅基地审批办事指南");
        let guides = screen.ui().global::<GuideAdapter>();
        while screen.can_touch("下一页 →") {
            screen.touch("下一页 →");
        }
        screen.scroll_to("▼ 下翻", "此图片暂时无法显示");
        screen.scroll_to("▼ 下翻", "宅基地审批流程图"); // the caption stays

        // The largest guide a release may carry: every section at its 64 kB limit.
        insert_largest_guide(&screen.config);
        screen.ui().global::<AppAdapter>().invoke_content_changed();
        screen.touch("← 返回");
        screen.touch("宅基地最长指南");
        let pages = guides.get_detail_pages();
        assert!(pages > 50, "{pages} pages");
        for _ in 0..5 {
            let blocks = guides.get_blocks();
            let chars: usize = blocks.iter().map(|b| b.text.chars().count()).sum();
            assert!(chars <= 2_000, "a page of {chars} characters");
            screen.touch("下一页 →");
        }
        assert_eq!(guides.get_detail_page(), 6);
        // It draws.
        let shot = screen.snapshot();
        assert_eq!((shot.width(), shot.height()), (1920, 1080));
    });
}

/// A valid guide as long as a release allows: seven sections of just under 64 kB each.
fn largest_guide() -> protocol::items::Item {
    use protocol::items::{Guide, GuideSections, Item};
    let section = "宅基地申请须由本集体经济组织成员以户为单位提出。".repeat(900);
    assert!(section.len() < 64 * 1024);
    let guide = Item::Guide(Guide {
        title: "宅基地最长指南".into(),
        category: "宅基地".into(),
        procedure: None,
        summary: None,
        sections: GuideSections {
            acceptance_conditions: section.clone(),
            materials: section.clone(),
            process: section.clone(),
            time_limit: section.clone(),
            fees: section.clone(),
            legal_basis: section.clone(),
            phone: section,
        },
        phone_url: None,
        images: Vec::new(),
        updated_on: "2026-11-01".parse().unwrap(),
    });
    guide.validate().unwrap();
    guide
}

fn insert_largest_guide(config: &Config) {
    use kiosk::mirror::content::{ReleaseRows, replace};
    let mut compiled = kiosk::content::sample::builtin();
    compiled
        .items
        .push(("guides/longest".into(), largest_guide()));
    let media = kiosk::content::verify::media_rows(&compiled);
    let mut mirror = Mirror::open(&config.mirror_path()).unwrap();
    let tx = mirror.conn_mut().transaction().unwrap();
    replace(
        &tx,
        &ReleaseRows {
            version: Some(99),
            manifest_sha256: None,
            etag: None,
            items: &compiled.items,
            media: &media,
        },
        Utc::now(),
    )
    .unwrap();
    tx.commit().unwrap();
}

#[test]
fn forty_steps_and_a_thirty_character_name_fit() {
    on_ui_thread(true, || {
        let screen = Screen::demo();
        screen.scan(CASE_LONG.0);
        screen.keypad(CASE_LONG.1);
        screen.touch("查询");
        screen.answers();
        let progress = screen.ui().global::<ProgressAdapter>();
        assert_eq!(progress.get_rows().row_count(), 40);
        let applicant = progress.get_case().applicant;
        assert_eq!(applicant.chars().count(), 30);
        assert!(applicant.starts_with('郴') && applicant.contains("****"));
        assert!(progress.get_case().overdue);
        // The timeline scrolls to the step with the note (the 24th), by its 下翻 button.
        assert!(!screen.can_touch("▲ 上翻"), "at the top");
        let presses = screen.scroll_to("▼ 下翻", "说明：请补充矿区范围拐点坐标");
        assert!(presses > 1, "the note was below the screen");
        assert!(screen.can_touch("▲ 上翻"));
        let shot = screen.snapshot();
        assert_eq!((shot.width(), shot.height()), (1920, 1080));
    });
}

#[test]
fn an_answer_for_a_visitor_who_left_is_never_shown() {
    on_ui_thread(false, || {
        let screen = Screen::demo();
        screen.scan(CASE_IN_REVIEW.0);
        screen.keypad(CASE_IN_REVIEW.1);
        screen.touch("查询");
        // They walk away (or tap 返回首页) before the answer is taken.
        screen.touch("返回首页");
        screen.answers();
        assert_eq!(screen.page(), Page::Home);
        assert_eq!(
            screen.ui().global::<ProgressAdapter>().get_case().case_no,
            ""
        );
        assert!(!screen.shows("张*三"));
    });
}

#[test]
fn a_rating_after_a_case_view_is_stored_in_the_outbox() {
    on_ui_thread(false, || {
        let screen = Screen::demo();
        screen.scan(CASE_IN_REVIEW.0);
        screen.keypad(CASE_IN_REVIEW.1);
        screen.touch("查询");
        screen.answers();
        screen.touch("评价本次服务");
        assert_eq!(screen.page(), Page::Rating);
        assert!(screen.shows(CASE_IN_REVIEW.0));
        assert!(!screen.can_touch("提交评价"), "a level first");
        screen.touch("满意");
        screen.touch("态度热情");
        screen.touch("办理快捷");
        screen.touch("提交评价");
        screen.answers();
        assert_eq!(
            screen.ui().global::<RatingAdapter>().get_stage(),
            RatingStage::Thanks
        );
        assert!(screen.shows("感谢您的评价！"));
        let mirror = Mirror::open(&screen.config.mirror_path()).unwrap();
        assert_eq!(mirror.rating_counts().unwrap(), (1, 0, 0));
        let body: String = mirror
            .conn()
            .query_row("SELECT body FROM ratings_outbox", [], |r| r.get(0))
            .unwrap();
        let rating: protocol::ratings::Rating = serde_json::from_str(&body).unwrap();
        assert_eq!(rating.case_no.as_deref(), Some(CASE_IN_REVIEW.0));
        assert_eq!(rating.score, 4);
        assert_eq!(rating.reasons, ["fast", "polite"], "in the scheme's order");
        screen.touch("完成");
        assert_eq!(screen.page(), Page::Progress);
        assert!(screen.shows("感谢您对本次服务的评价。"));
        assert!(
            !screen.can_touch("评价本次服务"),
            "one rating per case view"
        );
    });
}

#[test]
fn tapping_everywhere_at_random_keeps_the_screen_consistent() {
    let seed: u64 = std::env::var("KIOSK_TAP_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20261201);
    on_ui_thread(false, move || {
        let screen = Screen::demo();
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        for round in 0..400 {
            let buttons = i_slint_backend_testing::ElementHandle::query_descendants(
                &i_slint_backend_testing::ElementRoot::root_element(screen.ui()),
            )
            .match_accessible_role(i_slint_backend_testing::AccessibleRole::Button)
            .find_all();
            let buttons: Vec<_> = buttons
                .into_iter()
                .filter(|b| b.size().width > 0.0 && b.accessible_enabled() != Some(false))
                .collect();
            assert!(
                !buttons.is_empty(),
                "round {round}: nothing to press (seed {seed})"
            );
            let button = &buttons[rng.random_range(0..buttons.len())];
            button.mock_single_click(slint::platform::PointerEventButton::Left);
            match rng.random_range(0..20) {
                0 => screen.wait(rng.random_range(1..40)),
                1 | 2 => screen.answers(),
                3 => screen.scan(CASE_IN_REVIEW.0),
                _ => {}
            }
            let progress = screen.ui().global::<ProgressAdapter>().get_case();
            if screen.page() == Page::Progress {
                assert_ne!(
                    progress.case_no, "",
                    "round {round}: an empty case page (seed {seed})"
                );
            }
            for label in screen.labels() {
                assert!(
                    !label.contains("rror"),
                    "round {round}: {label:?} (seed {seed})"
                );
            }
        }
        screen.answers();
        screen.ui().global::<AppAdapter>().invoke_go_home();
        assert_eq!(screen.page(), Page::Home);
        assert_eq!(
            screen.ui().global::<ProgressAdapter>().get_case().case_no,
            ""
        );
        assert_eq!(screen.ui().global::<LookupAdapter>().get_case_no(), "");
    });
}

#[test]
fn the_palette_meets_wcag_aa() {
    fn luminance(c: slint::Color) -> f64 {
        let channel = |v: u8| {
            let c = f64::from(v) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(c.red()) + 0.7152 * channel(c.green()) + 0.0722 * channel(c.blue())
    }
    fn ratio(a: slint::Color, b: slint::Color) -> f64 {
        let (la, lb) = (luminance(a), luminance(b));
        (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
    }
    on_ui_thread(false, || {
        let ui = kiosk::ui::KioskWindow::new().unwrap();
        let p = ui.global::<Theme>().get_palette();
        // Text (4.5:1): every colour of text on every background it is drawn on.
        let text = [
            ("text/background", p.text, p.background),
            ("text/surface", p.text, p.surface),
            ("text/sunken", p.text, p.surface_sunken),
            ("text/primary-soft", p.text, p.primary_soft),
            ("muted/surface", p.text_muted, p.surface),
            ("muted/background", p.text_muted, p.background),
            ("muted/sunken", p.text_muted, p.surface_sunken),
            ("primary/surface", p.primary, p.surface),
            ("primary/primary-soft", p.primary, p.primary_soft),
            ("on-primary/primary", p.on_primary, p.primary),
            ("on-primary/pressed", p.on_primary, p.primary_pressed),
            ("on-header/header", p.on_header, p.header),
            ("header/on-header", p.header, p.on_header),
            ("on-header-muted/header", p.on_header_muted, p.header),
            ("on-disabled/disabled", p.on_disabled, p.disabled),
            ("done/surface", p.done, p.surface),
            ("active/surface", p.active, p.surface),
            ("active/primary-soft", p.active, p.primary_soft),
            ("pending/surface", p.pending, p.surface),
            ("overdue/surface", p.overdue, p.surface),
            ("overdue/primary-soft", p.overdue, p.primary_soft),
            ("warning-text/surface", p.warning_text, p.surface),
            ("ok/ok-bg", p.ok_text, p.ok_bg),
            ("warning/warning-bg", p.warning_text, p.warning_bg),
            ("error/error-bg", p.error_text, p.error_bg),
        ];
        for (what, fg, bg) in text {
            let r = ratio(fg, bg);
            assert!(r >= 4.5, "{what}: {r:.2}:1");
        }
        // Borders and marks (3:1, WCAG 1.4.11).
        for (what, fg, bg) in [
            ("border/surface", p.border, p.surface),
            ("border/background", p.border, p.background),
        ] {
            let r = ratio(fg, bg);
            assert!(r >= 3.0, "{what}: {r:.2}:1");
        }
        // 15 mm at the panel's 92.6 dpi.
        assert!(ui.global::<Theme>().get_touch_min() >= 55.0);
    });
}

/// The `@tr` strings of the screen's `.slint` files.
fn ui_strings() -> Vec<String> {
    fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "slint") {
                let text = std::fs::read_to_string(&path).unwrap();
                for (i, _) in text.match_indices("@tr(\"") {
                    let rest = &text[i + 5..];
                    let end = rest.find('"').unwrap();
                    out.push(rest[..end].to_owned());
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui"),
        &mut out,
    );
    out.sort();
    out.dedup();
    out
}

/// `msgid → msgstr` of the English translation.
fn english() -> std::collections::HashMap<String, String> {
    let po = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("ui/translations/en/LC_MESSAGES/kiosk.po"),
    )
    .unwrap();
    let unquote = |line: &str, key: &str| {
        line.strip_prefix(key).map(|v| {
            v.trim()
                .trim_matches('"')
                .replace("\\\"", "\"")
                .replace("\\\\", "\\")
        })
    };
    let mut map = std::collections::HashMap::new();
    let mut id = None;
    for line in po.lines() {
        if let Some(v) = unquote(line, "msgid ") {
            id = Some(v);
        } else if let (Some(v), Some(k)) = (unquote(line, "msgstr "), id.take()) {
            map.insert(k, v);
        }
    }
    map
}

#[test]
fn every_string_of_the_screen_has_its_english() {
    let english = english();
    let strings = ui_strings();
    assert!(strings.len() > 100, "{} strings found", strings.len());
    for s in &strings {
        let translated = english
            .get(s)
            .unwrap_or_else(|| panic!("no English for {s:?}"));
        assert!(!translated.is_empty(), "empty English for {s:?}");
        assert_eq!(
            s.matches("{}").count(),
            translated.matches("{}").count(),
            "{s:?} and {translated:?} take different arguments"
        );
    }
}

#[test]
fn the_bundled_font_covers_every_character_the_ui_writes() {
    use skrifa::MetadataProvider;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let font = std::fs::read(root.join("ui/fonts/KioskSansSC-Regular.otf")).unwrap();
    let font = skrifa::FontRef::new(&font).unwrap();
    let charmap = font.charmap();
    let mut texts: Vec<String> = ui_strings();
    texts.extend(english().into_values());
    fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "md" || e == "toml") {
                out.push(std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    walk(&root.join("../config/content-sample"), &mut texts);
    let missing: std::collections::BTreeSet<char> = texts
        .iter()
        .flat_map(|t| t.chars())
        .filter(|c| !c.is_control() && *c != '\u{feff}')
        .filter(|c| charmap.map(*c).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "not in the font (run scripts/make-kiosk-font.sh): {missing:?}"
    );
    // Common characters of names beyond the UI's own words are there too (GB 2312).
    for c in "张王李赵刘陈杨黄吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤".chars() {
        assert!(charmap.map(c).is_some(), "{c}");
    }
}
