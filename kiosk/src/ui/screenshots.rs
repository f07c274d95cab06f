//! `kiosk --screenshots DIR`: every screen drawn headless to PNG, in Chinese and English,
//! landscape and portrait, and in elder mode — for the docs, the golden images of the tests,
//! and for checking a content release before it is published (`--release`, which
//! `kiosk-admin build --screenshots` passes).
//!
//! It never touches the kiosk's own data: the screens are drawn from a scratch mirror holding
//! a few demonstration cases and the release's content (or the built-in sample).

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use protocol::cases::{
    Case, CaseResult, CaseStatus, Change, ChangesPage, Outcome, Publicity, Step, StepState,
};
use protocol::halls::Hall;
use slint::ComponentHandle;

use super::clock::{self, Clock};
use super::{
    AppAdapter, DocumentsAdapter, GuideAdapter, HomeAdapter, Kiosk, LookupAdapter, RatingAdapter,
    Service, UiError, headless, snapshot,
};
use crate::config::Config;
use crate::content::release::Release;
use crate::content::store::BlobStore;
use crate::content::verify::{self, AppliedRelease, Verdict};
use crate::feed::parse_page;
use crate::mirror::Mirror;
use crate::mirror::content::{ReleaseRows, replace};

/// The lookup digest of a scratch case (its code is below, not a secret): at the demo cost,
/// so the screenshots do not spend the standard cost's 32 MiB and tens of ms per case.
fn demo_digest(case_no: &str, code: &str) -> String {
    let mut salt = [0u8; protocol::lookup::SALT_LEN];
    for (s, b) in salt.iter_mut().zip(case_no.bytes().rev()) {
        *s = b;
    }
    protocol::lookup::lookup_digest(case_no, code, &salt, protocol::lookup::DEMO_COST)
        .expect("the demo cost is within the contract")
}

/// Cases of the scratch mirror: number and code.
pub const CASE_IN_REVIEW: (&str, &str) = ("GY2026-ZJD-000123", "4321");
pub const CASE_LONG: (&str, &str) = ("GY2026-CKQ-000045", "8888");
pub const CASE_COMPLETED: (&str, &str) = ("GY2026-ZJD-000077", "2468");
/// A number of another hall (郴州市北湖区).
pub const OTHER_HALL: &str = "CZ2026-BDC-000001";

/// The screens' moment: Tuesday 2026-12-01, 10:30 in the hall.
pub fn default_time() -> DateTime<Utc> {
    "2026-12-01T02:30:00Z".parse().expect("a valid time")
}

#[derive(Debug, thiserror::Error)]
pub enum ScreenshotError {
    #[error(transparent)]
    Ui(#[from] UiError),
    #[error(transparent)]
    Data(#[from] crate::Error),
    #[error("content release: {0}")]
    Release(String),
    #[error("{0}")]
    Render(String),
}

/// One way of showing the screens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variant {
    pub english: bool,
    pub portrait: bool,
    pub elder: bool,
}

impl Variant {
    pub fn suffix(self) -> String {
        format!(
            "{}-{}{}",
            if self.english { "en" } else { "zh" },
            if self.portrait {
                "portrait"
            } else {
                "landscape"
            },
            if self.elder { "-elder" } else { "" }
        )
    }
}

struct Screen {
    name: &'static str,
    show: fn(&Kiosk),
    /// Also drawn portrait and in elder mode (not every screen is, to keep the set small).
    portrait: bool,
    elder: bool,
    /// Leaves lookups locked: drawn after every other screen.
    locks: bool,
}

const fn screen(name: &'static str, show: fn(&Kiosk), portrait: bool, elder: bool) -> Screen {
    Screen {
        name,
        show,
        portrait,
        elder,
        locks: false,
    }
}

fn open(kiosk: &Kiosk, service: Service) {
    kiosk
        .window()
        .global::<HomeAdapter>()
        .invoke_open_service(service);
}

fn keypad(kiosk: &Kiosk, text: &str) {
    let lookup = kiosk.window().global::<LookupAdapter>();
    for c in text.chars() {
        lookup.invoke_key(c.to_string().into());
    }
}

/// A scanner's burst: keys with no time between them, then Enter.
fn scan(kiosk: &Kiosk, text: &str) {
    let app = kiosk.window().global::<AppAdapter>();
    for c in text.chars() {
        app.invoke_key(c.to_string().into());
    }
    app.invoke_key("\n".into());
}

fn look_up(kiosk: &Kiosk, (case_no, code): (&str, &str)) {
    open(kiosk, Service::Progress);
    keypad(kiosk, case_no);
    let lookup = kiosk.window().global::<LookupAdapter>();
    lookup.invoke_next();
    keypad(kiosk, code);
    lookup.invoke_submit();
}

fn first_row(rows: slint::ModelRc<super::ListRow>) -> Option<slint::SharedString> {
    slint::Model::row_data(&rows, 0).map(|r| r.id)
}

const SCREENS: &[Screen] = &[
    screen("home", |_| {}, true, true),
    screen(
        "attract",
        |k| {
            k.window()
                .global::<AppAdapter>()
                .set_page(super::Page::Attract);
        },
        false,
        false,
    ),
    screen(
        "lookup-number",
        |k| {
            open(k, Service::Progress);
            keypad(k, "GY2026-ZJD-00");
        },
        false,
        false,
    ),
    screen(
        "lookup-code",
        |k| {
            scan(k, CASE_IN_REVIEW.0);
            keypad(k, "43");
        },
        true,
        true,
    ),
    screen(
        "lookup-no-match",
        |k| {
            scan(k, CASE_IN_REVIEW.0);
            keypad(k, "0000");
            k.window().global::<LookupAdapter>().invoke_submit();
        },
        false,
        false,
    ),
    screen("lookup-other-hall", |k| scan(k, OTHER_HALL), false, false),
    screen("progress", |k| look_up(k, CASE_IN_REVIEW), true, true),
    screen("progress-long", |k| look_up(k, CASE_LONG), true, false),
    screen(
        "progress-completed",
        |k| look_up(k, CASE_COMPLETED),
        false,
        false,
    ),
    screen("guides", |k| open(k, Service::Guides), false, false),
    screen(
        "guide-detail",
        |k| {
            open(k, Service::Guides);
            let guides = k.window().global::<GuideAdapter>();
            // The sample's homestead guide has a picture and a QR code; another release's first.
            let homestead =
                slint::Model::iter(&guides.get_rows()).any(|r| r.id == "guides/homestead");
            let id = if homestead {
                Some("guides/homestead".into())
            } else {
                first_row(guides.get_rows())
            };
            if let Some(id) = id {
                guides.invoke_open(id);
            }
        },
        true,
        true,
    ),
    screen(
        "guide-search",
        |k| {
            open(k, Service::Guides);
            let guides = k.window().global::<GuideAdapter>();
            guides.invoke_open_search();
            guides.invoke_toggle_word("宅基地".into());
        },
        false,
        false,
    ),
    screen("policies", |k| open(k, Service::Policies), true, false),
    screen(
        "policy-detail",
        |k| {
            open(k, Service::Policies);
            let docs = k.window().global::<DocumentsAdapter>();
            if let Some(id) = first_row(docs.get_rows()) {
                docs.invoke_open_item(id);
            }
        },
        false,
        false,
    ),
    screen(
        "publicity-detail",
        |k| {
            open(k, Service::Publicity);
            let docs = k.window().global::<DocumentsAdapter>();
            if let Some(id) = first_row(docs.get_rows()) {
                docs.invoke_open_item(id);
            }
        },
        true,
        false,
    ),
    screen("notices", |k| open(k, Service::Notices), false, false),
    screen(
        "notice-detail",
        |k| {
            k.window()
                .global::<HomeAdapter>()
                .invoke_open_notice("notices/system-upgrade".into());
        },
        false,
        false,
    ),
    screen(
        "rating",
        |k| {
            look_up(k, CASE_IN_REVIEW);
            k.finish_background_work(Duration::from_secs(30));
            k.window().global::<super::ProgressAdapter>().invoke_rate();
            let rating = k.window().global::<RatingAdapter>();
            rating.invoke_choose(4);
            rating.invoke_toggle_reason("fast".into());
        },
        true,
        true,
    ),
    screen(
        "rating-thanks",
        |k| {
            open(k, Service::Rating);
            let rating = k.window().global::<RatingAdapter>();
            rating.invoke_choose(5);
            rating.invoke_submit();
        },
        false,
        false,
    ),
    Screen {
        name: "lookup-locked",
        show: |k| open(k, Service::Progress),
        portrait: false,
        elder: false,
        locks: true,
    },
];

/// The names of every screen drawn.
pub fn screen_names() -> impl Iterator<Item = &'static str> {
    SCREENS.iter().map(|s| s.name)
}

fn step(
    code: &str,
    label: &str,
    division: Option<&str>,
    group: u32,
    state: StepState,
    days: (Option<i64>, Option<i64>),
    base: DateTime<Utc>,
) -> Step {
    let day = |d: i64| base + chrono::Duration::days(d) + chrono::Duration::hours(1);
    Step {
        code: code.into(),
        label: label.into(),
        division: division.map(Into::into),
        group,
        state,
        started_at: days.0.map(day),
        finished_at: days.1.map(day),
        note: None,
    }
}

/// The demonstration cases, as the upstream would send them.
fn demo_cases(now: DateTime<Utc>) -> Vec<(Case, &'static str)> {
    let base: DateTime<Utc> = "2026-11-03T00:00:00Z".parse().expect("a valid time");
    let case = |(case_no, code): (&str, &'static str),
                kind: &str,
                label: &str,
                applicant: &str,
                status,
                steps,
                days: i64| {
        (
            Case {
                case_no: case_no.into(),
                hall_id: String::new(),
                kind: kind.into(),
                kind_label: label.into(),
                applicant: applicant.into(),
                lookup_digest: demo_digest(case_no, code),
                received_at: base,
                due_at: base + chrono::Duration::days(days),
                status,
                steps,
                result: None,
                publicity: None,
                updated_at: now,
            },
            code,
        )
    };
    use StepState::{Active, Done, Pending};
    let review = vec![
        step(
            "accept",
            "受理",
            Some("政务服务窗口"),
            0,
            Done,
            (Some(0), Some(0)),
            base,
        ),
        step(
            "preliminary",
            "初审",
            Some("业务科室"),
            1,
            Done,
            (Some(0), Some(4)),
            base,
        ),
        step(
            "joint_review_land_use",
            "会审（用地处）",
            Some("用地处"),
            2,
            Done,
            (Some(4), Some(9)),
            base,
        ),
        step(
            "joint_review_planning",
            "会审（规划处）",
            Some("规划处"),
            2,
            Active,
            (Some(4), None),
            base,
        ),
        step(
            "joint_review_cadastre",
            "会审（地籍处）",
            Some("地籍处"),
            2,
            Done,
            (Some(4), Some(12)),
            base,
        ),
        step(
            "joint_review_farmland",
            "会审（耕保处）",
            Some("耕保处"),
            2,
            Active,
            (Some(4), None),
            base,
        ),
        step(
            "approval",
            "分管副厅长审批",
            Some("厅领导"),
            3,
            Pending,
            (None, None),
            base,
        ),
        step(
            "publicity",
            "结果公示",
            None,
            4,
            Pending,
            (None, None),
            base,
        ),
        step("complete", "办结", None, 5, Pending, (None, None), base),
    ];
    let mut long: Vec<Step> = (0..40)
        .map(|i| {
            let state = if i < 23 {
                Done
            } else if i == 23 {
                Active
            } else {
                Pending
            };
            let days = if i < 23 {
                (Some(i), Some(i + 1))
            } else if i == 23 {
                (Some(23), None)
            } else {
                (None, None)
            };
            step(
                &format!("review_{i}"),
                &format!("第 {} 轮专家论证", i + 1),
                Some("矿产资源储量评审中心"),
                i as u32,
                state,
                days,
                base - chrono::Duration::days(30),
            )
        })
        .collect();
    if let Some(s) = long.get_mut(23) {
        s.note = Some("请补充矿区范围拐点坐标及储量核实报告（盖章）".into());
    }
    let mut completed = case(
        CASE_COMPLETED,
        "homestead",
        "农村宅基地审批",
        "李*",
        CaseStatus::Publicity,
        review
            .iter()
            .cloned()
            .map(|mut s| {
                s.state = Done;
                s.finished_at = s
                    .started_at
                    .or(Some(base))
                    .map(|t| t + chrono::Duration::days(1));
                s.started_at = s.started_at.or(Some(base));
                s
            })
            .collect(),
        30,
    );
    completed.0.result = Some(CaseResult {
        outcome: Outcome::Approved,
        decided_at: base + chrono::Duration::days(18),
        document_no: Some("桂自然资宅批〔2026〕118号".into()),
        reason: None,
    });
    completed.0.publicity = Some(Publicity {
        starts_on: "2026-11-24".parse().expect("a date"),
        ends_on: "2026-12-01".parse().expect("a date"),
    });
    vec![
        case(
            CASE_IN_REVIEW,
            "homestead",
            "农村宅基地审批",
            "张*三",
            CaseStatus::InReview,
            review,
            30,
        ),
        // A company's 30-character name (masked by the mirror) and 40 steps, past its due date.
        case(
            CASE_LONG,
            "mining_right",
            "采矿权审批",
            "郴州市北湖区鑫源矿业开发有限责任公司第二分公司驻桂阳县办事处",
            CaseStatus::AwaitingMaterial,
            long,
            20,
        ),
        completed,
    ]
}

/// Fills the (scratch) mirror of `config`: the hall, the demonstration cases (the feed read to
/// its end four minutes before `at`), and the content of `release` or the built-in sample.
pub fn demo_data(
    config: &Config,
    release: Option<&Path>,
    at: DateTime<Utc>,
) -> Result<(), ScreenshotError> {
    let mut mirror = Mirror::open(&config.mirror_path())?;
    let store = BlobStore::open(&config.blob_dir())?;
    mirror.set_hall(&Hall {
        id: config.hall_id.clone(),
        name: "郴州市桂阳县政务大厅".into(),
        division_code: "431021".into(),
        lon: 112.73,
        lat: 25.75,
    })?;
    let changes = demo_cases(at)
        .into_iter()
        .enumerate()
        .map(|(i, (case, _))| Change::Upsert {
            seq: i as u64 + 1,
            case: Box::new(case),
        })
        .collect::<Vec<_>>();
    let page = ChangesPage {
        next_after: changes.len() as u64,
        changes,
        has_more: false,
    };
    let bytes = serde_json::to_vec(&page).map_err(crate::Error::from)?;
    mirror.apply_page(&parse_page(&bytes)?, at - chrono::Duration::minutes(4))?;
    match release {
        None => {
            crate::content::install_sample_if_empty(&mut mirror, &store, at)?;
        }
        Some(dir) => apply_release(config, &mut mirror, &store, dir, at)?,
    }
    Ok(())
}

/// Applies a release folder as the kiosk would: signature by a trusted key, every blob's hash
/// and every item checked.
fn apply_release(
    config: &Config,
    mirror: &mut Mirror,
    store: &BlobStore,
    dir: &Path,
    at: DateTime<Utc>,
) -> Result<(), ScreenshotError> {
    let release = Release::read_dir(dir)?;
    let applied = AppliedRelease {
        version: None,
        manifest_sha256: None,
    };
    let manifest = match verify::check_manifest(
        &release.manifest_bytes,
        &release.signature,
        &config.trusted_keys,
        applied,
    ) {
        Ok(Verdict::Apply(manifest)) => manifest,
        Ok(Verdict::AlreadyApplied) => unreachable!("nothing is applied to a scratch mirror"),
        Err(e) => return Err(ScreenshotError::Release(e.to_string())),
    };
    for (sha, bytes) in &release.blobs {
        store.write(sha, bytes)?;
    }
    let content = verify::items(&manifest, |sha| store.read(sha))?;
    let tx = mirror
        .conn_mut()
        .transaction()
        .map_err(crate::Error::from)?;
    replace(
        &tx,
        &ReleaseRows {
            version: Some(manifest.version),
            manifest_sha256: None,
            etag: None,
            items: &content.items,
            media: &content.media,
        },
        at,
    )?;
    tx.commit().map_err(crate::Error::from)?;
    Ok(())
}

/// What to draw.
pub struct Options {
    pub out: PathBuf,
    /// The kiosk's config (its screen settings and trusted keys); the repository's example
    /// when `None`.
    pub config: Option<Config>,
    /// A release folder built by `kiosk-admin build`; the built-in sample when `None`.
    pub release: Option<PathBuf>,
    /// Only screens with these names (all when empty).
    pub only: Vec<String>,
    pub at: DateTime<Utc>,
    /// Half-size images compressed hard, slower: for the images kept in the repository.
    pub small: bool,
}

/// The repository's example configuration, for screenshots without a kiosk.
pub fn example_config() -> Config {
    Config::parse(
        include_str!("../../../config/kiosk.toml"),
        Path::new("."),
        "config/kiosk.toml",
    )
    .expect("the example configuration is valid (tested)")
}

fn variants(screen: &Screen) -> Vec<Variant> {
    let mut out = vec![
        Variant {
            english: false,
            portrait: false,
            elder: false,
        },
        Variant {
            english: true,
            portrait: false,
            elder: false,
        },
    ];
    if screen.portrait {
        out.push(Variant {
            english: false,
            portrait: true,
            elder: false,
        });
    }
    if screen.elder {
        out.push(Variant {
            english: false,
            portrait: false,
            elder: true,
        });
    }
    out
}

fn show(kiosk: &Kiosk, screen: &Screen, variant: Variant) -> Result<(), ScreenshotError> {
    let ui = kiosk.window();
    let (w, h) = if variant.portrait {
        (1080, 1920)
    } else {
        (1920, 1080)
    };
    ui.window().set_size(slint::PhysicalSize::new(w, h));
    kiosk.set_portrait(variant.portrait);
    let app = ui.global::<AppAdapter>();
    app.invoke_go_home();
    if variant.english {
        app.invoke_toggle_language();
    }
    if variant.elder {
        app.invoke_toggle_elder();
    }
    (screen.show)(kiosk);
    if !kiosk.finish_background_work(Duration::from_secs(30)) {
        return Err(ScreenshotError::Render(format!(
            "{}: the lookup did not answer",
            screen.name
        )));
    }
    Ok(())
}

/// Draws the screens into `options.out` as `{screen}-{zh|en}-{landscape|portrait}[-elder].png`;
/// returns the files written. Sets this thread's Slint platform (headless).
pub fn render(options: &Options) -> Result<Vec<PathBuf>, ScreenshotError> {
    let scratch = tempfile::tempdir().map_err(|e| UiError::Io("a scratch folder".into(), e))?;
    let mut config = options.config.clone().unwrap_or_else(example_config);
    config.data_dir = scratch.path().join("data");
    demo_data(&config, options.release.as_deref(), options.at)?;
    headless::install().map_err(UiError::from)?;
    std::fs::create_dir_all(&options.out)
        .map_err(|e| UiError::Io(options.out.display().to_string(), e))?;
    let kiosk = Kiosk::new(&config, Clock::fixed(options.at, clock::china()))?;
    kiosk.follow_schedule(false);
    kiosk.window().show().map_err(UiError::from)?;
    let wanted = |s: &&Screen| options.only.is_empty() || options.only.iter().any(|o| o == s.name);
    let mut written = Vec::new();
    // Screens that lock lookups come last, when nothing else needs a lookup.
    for locking in [false, true] {
        if locking && SCREENS.iter().filter(wanted).any(|s| s.locks) {
            lock_lookups(&config, options.at)?;
            kiosk.poll_mirror();
        }
        for screen in SCREENS.iter().filter(wanted).filter(|s| s.locks == locking) {
            for variant in variants(screen) {
                show(&kiosk, screen, variant)?;
                let path = options
                    .out
                    .join(format!("{}-{}.png", screen.name, variant.suffix()));
                snapshot::save(kiosk.window(), &path, options.small)
                    .map_err(ScreenshotError::Render)?;
                written.push(path);
            }
        }
    }
    Ok(written)
}

/// `kiosk --first-frame`, for the cold-start benchmark: the screen on the kiosk's own data
/// (its mirror opened as `kiosk run` opens it, nothing written), its first frame drawn into
/// memory.
pub fn first_frame(config: &Config) -> Result<(), ScreenshotError> {
    headless::install().map_err(UiError::from)?;
    let kiosk = Kiosk::new(config, Clock::system())?;
    kiosk.follow_schedule(false);
    let (w, h) = if config.screen.rotation.is_portrait() {
        (1080, 1920)
    } else {
        (1920, 1080)
    };
    kiosk
        .window()
        .window()
        .set_size(slint::PhysicalSize::new(w, h));
    kiosk.window().show().map_err(UiError::from)?;
    kiosk
        .window()
        .window()
        .take_snapshot()
        .map_err(|e| ScreenshotError::Render(e.to_string()))?;
    Ok(())
}

/// Thirty wrong tries on the scratch mirror: the kiosk-wide lock.
fn lock_lookups(config: &Config, at: DateTime<Utc>) -> Result<(), ScreenshotError> {
    let mirror = Mirror::open(&config.mirror_path())?;
    for n in 0..crate::throttle::PER_KIOSK.max_failures {
        mirror.lookup(
            &format!("GY2026-ZJD-9{n:05}"),
            "0000",
            at - chrono::Duration::seconds(47),
        )?;
    }
    Ok(())
}
