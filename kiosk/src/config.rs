//! `kiosk.toml`: read as a file of optional settings, then validated into [`Config`].
//! Relative paths are taken relative to the folder of the config file, so a config and its
//! data folder can move together.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ed25519_dalek::VerifyingKey;
use protocol::client::{Client, ClientConfig};
use serde::Deserialize;
use url::Url;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// (The cause is in the message, so it is not a `source` too: see `crate::error`.)
    #[error("reading {path}: {cause}")]
    Read { path: String, cause: std::io::Error },
    #[error("{path}:{line}: {message}")]
    Syntax {
        path: String,
        line: usize,
        message: String,
    },
    #[error("{path}: {key}: {message}")]
    Invalid {
        path: String,
        key: &'static str,
        message: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    device_id: String,
    hall_id: String,
    data_dir: Option<PathBuf>,
    upstream: UpstreamFile,
    #[serde(default)]
    content: ContentFile,
    #[serde(default)]
    sync: SyncFile,
    #[serde(default)]
    heartbeat: IntervalFile,
    #[serde(default)]
    ratings: IntervalFile,
    site_fault: Option<String>,
    #[serde(default)]
    screen: ScreenFile,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpstreamFile {
    url: String,
    content_url: Option<String>,
    token: Option<String>,
    timeout_s: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContentFile {
    #[serde(default)]
    trusted_keys: Vec<String>,
    poll_interval_s: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SyncFile {
    interval_s: Option<u64>,
    page_size: Option<u32>,
    stale_after_s: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct IntervalFile {
    interval_s: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScreenFile {
    rotation: Option<u16>,
    idle_timeout_s: Option<u64>,
    elder_idle_factor: Option<u32>,
    attract_after_s: Option<u64>,
    guide_url: Option<String>,
}

/// How the panel is mounted: the picture and touch input are turned by this much, clockwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rotation {
    #[default]
    R0,
    R90,
    R180,
    R270,
}

impl Rotation {
    pub fn degrees(self) -> u16 {
        match self {
            Self::R0 => 0,
            Self::R90 => 90,
            Self::R180 => 180,
            Self::R270 => 270,
        }
    }

    /// A quarter turn either way makes a landscape panel portrait.
    pub fn is_portrait(self) -> bool {
        matches!(self, Self::R90 | Self::R270)
    }
}

/// The screen: mounting, and how long it waits for a visitor.
#[derive(Debug, Clone, PartialEq)]
pub struct Screen {
    pub rotation: Rotation,
    /// Without a touch this long, the screen clears itself and goes home; the published
    /// settings' `idle_timeout_s` wins when a release carries one.
    pub idle_timeout: Duration,
    /// Elder mode waits this many times longer.
    pub elder_idle_factor: u32,
    /// After this long without a touch, the home screen shows the notices as a slideshow.
    pub attract_after: Duration,
    /// A web page for each guide (`{id}` is replaced by the guide's id), shown as a QR code
    /// so visitors can take the guide with them; without it the QR code dials the help line.
    pub guide_url: Option<String>,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub device_id: String,
    pub hall_id: String,
    pub data_dir: PathBuf,
    pub upstream: Url,
    pub content_url: Option<Url>,
    /// This device's own bearer token (bound to `device_id` and `hall_id` upstream).
    pub token: String,
    pub timeout: Duration,
    pub trusted_keys: Vec<VerifyingKey>,
    pub content_interval: Duration,
    pub sync_interval: Duration,
    pub page_size: u32,
    /// The UI warns that progress may be out of date after this long without a full sync.
    pub stale_after_s: i64,
    pub heartbeat_interval: Duration,
    pub ratings_interval: Duration,
    /// Why the site settings could not be used, when the image's `land-hall-site` had to fall
    /// back to the last good ones or to the defaults: shown on screen and in the heartbeat.
    pub site_fault: Option<String>,
    pub screen: Screen,
}

fn seconds(value: Option<u64>, default: u64) -> Duration {
    Duration::from_secs(value.unwrap_or(default).max(1))
}

fn screen(
    file: ScreenFile,
    invalid: &impl Fn(&'static str, String) -> ConfigError,
) -> Result<Screen, ConfigError> {
    let rotation = match file.rotation.unwrap_or(0) {
        0 => Rotation::R0,
        90 => Rotation::R90,
        180 => Rotation::R180,
        270 => Rotation::R270,
        other => {
            return Err(invalid(
                "screen.rotation",
                format!("must be 0, 90, 180 or 270, got {other}"),
            ));
        }
    };
    let idle_timeout_s = file.idle_timeout_s.unwrap_or(60);
    if !(15..=3600).contains(&idle_timeout_s) {
        return Err(invalid(
            "screen.idle_timeout_s",
            "must be 15 to 3600".into(),
        ));
    }
    let elder_idle_factor = file.elder_idle_factor.unwrap_or(2);
    if !(1..=5).contains(&elder_idle_factor) {
        return Err(invalid("screen.elder_idle_factor", "must be 1 to 5".into()));
    }
    let attract_after_s = file.attract_after_s.unwrap_or(180);
    if !(30..=86_400).contains(&attract_after_s) {
        return Err(invalid(
            "screen.attract_after_s",
            "must be 30 to 86400".into(),
        ));
    }
    if let Some(url) = &file.guide_url
        && (!url.starts_with("https://") || !url.contains("{id}"))
    {
        return Err(invalid(
            "screen.guide_url",
            "must be an https:// address containing {id}".into(),
        ));
    }
    Ok(Screen {
        rotation,
        idle_timeout: Duration::from_secs(idle_timeout_s),
        elder_idle_factor,
        attract_after: Duration::from_secs(attract_after_s),
        guide_url: file.guide_url,
    })
}

impl Config {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|cause| ConfigError::Read {
            path: shown.clone(),
            cause,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, base, &shown)
    }

    /// Parses config text; `base` resolves relative paths, `shown` names it in errors.
    pub fn parse(text: &str, base: &Path, shown: &str) -> Result<Self, ConfigError> {
        let file: File = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: shown.to_owned(),
            line: crate::toml_line::of_error(text, &e, 1),
            message: e.message().to_owned(),
        })?;
        let invalid = |key, message: String| ConfigError::Invalid {
            path: shown.to_owned(),
            key,
            message,
        };
        if !protocol::devices::is_device_id(&file.device_id) {
            return Err(invalid(
                "device_id",
                protocol::devices::DEVICE_ID_RULE.into(),
            ));
        }
        if file.hall_id.is_empty() {
            return Err(invalid("hall_id", "must not be empty".into()));
        }
        let parse_url = |key, text: &str| {
            let url = Url::parse(text).map_err(|e| invalid(key, e.to_string()))?;
            if matches!(url.scheme(), "http" | "https") {
                Ok(url)
            } else {
                Err(invalid(key, "must be an http:// or https:// URL".into()))
            }
        };
        let upstream = parse_url("upstream.url", &file.upstream.url)?;
        let token = file.upstream.token.unwrap_or_default();
        if !protocol::devices::is_sendable_token(&token) {
            return Err(invalid(
                "upstream.token",
                format!(
                    "this device's token is required: {} (the upstream issues it for this \
                     device_id)",
                    protocol::devices::TOKEN_RULE
                ),
            ));
        }
        let content_url = file
            .upstream
            .content_url
            .as_deref()
            .map(|u| parse_url("upstream.content_url", u))
            .transpose()?;
        let trusted_keys = file
            .content
            .trusted_keys
            .iter()
            .map(|k| {
                protocol::content::decode_verifying_key(k)
                    .map_err(|e| invalid("content.trusted_keys", format!("{k:?}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if trusted_keys.is_empty() {
            return Err(invalid(
                "content.trusted_keys",
                "at least one public key (kiosk-admin keygen prints it) is needed to accept content".into(),
            ));
        }
        let page_size = file.sync.page_size.unwrap_or(protocol::MAX_PAGE);
        if !(1..=protocol::MAX_PAGE).contains(&page_size) {
            return Err(invalid(
                "sync.page_size",
                format!("must be 1 to {}", protocol::MAX_PAGE),
            ));
        }
        let screen = screen(file.screen, &invalid)?;
        let data_dir = base.join(file.data_dir.unwrap_or_else(|| PathBuf::from("kiosk-data")));
        Ok(Self {
            device_id: file.device_id,
            hall_id: file.hall_id,
            data_dir,
            upstream,
            content_url,
            token,
            timeout: seconds(file.upstream.timeout_s, 30),
            trusted_keys,
            content_interval: seconds(file.content.poll_interval_s, 60),
            sync_interval: seconds(file.sync.interval_s, 30),
            page_size,
            stale_after_s: file.sync.stale_after_s.unwrap_or(600),
            heartbeat_interval: seconds(file.heartbeat.interval_s, 60),
            ratings_interval: seconds(file.ratings.interval_s, 30),
            site_fault: file.site_fault.filter(|fault| !fault.trim().is_empty()),
            screen,
        })
    }

    /// Checks that `data_dir` can be used: a folder this process may write in, or one it can
    /// create (its nearest existing ancestor is such a folder). For `--check-config`; parsing
    /// alone does not touch the file system.
    pub fn check_data_dir(&self) -> Result<(), ConfigError> {
        let unusable = |message: String| ConfigError::Invalid {
            path: self.data_dir.display().to_string(),
            key: "data_dir",
            message,
        };
        let existing = self
            .data_dir
            .ancestors()
            .find(|p| p.exists())
            .unwrap_or(Path::new("/"));
        if !existing.is_dir() {
            return Err(unusable(format!("{} is not a folder", existing.display())));
        }
        let access = rustix::fs::Access::WRITE_OK | rustix::fs::Access::EXEC_OK;
        rustix::fs::access(existing, access).map_err(|e| {
            unusable(format!(
                "{} is not writable by this user: {e}",
                existing.display()
            ))
        })
    }

    pub fn mirror_path(&self) -> PathBuf {
        self.data_dir.join("mirror.db")
    }

    pub fn blob_dir(&self) -> PathBuf {
        self.data_dir.join("blobs")
    }

    /// The upstream client with this device's token.
    pub fn client(&self) -> Result<Client, protocol::client::ClientError> {
        let mut config = ClientConfig::new(self.upstream.clone());
        config.content_url = self.content_url.clone();
        config.token = Some(self.token.clone());
        config.timeout = self.timeout;
        config.user_agent = format!("land-hall-kiosk/{}", crate::APP_VERSION);
        Client::new(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "HURoZEIqXjgUj9hmucyeMM6FiiuhcNjFl17zF9nFc1k=";

    fn minimal() -> String {
        format!(
            "device_id = \"kiosk-01\"\nhall_id = \"hn-czs-gyx\"\n[upstream]\nurl = \"http://127.0.0.1:8080\"\n\
             token = \"lhdev-0123\"\n[content]\ntrusted_keys = [\"{KEY}\"]\n"
        )
    }

    #[test]
    fn defaults_fill_what_is_left_out() {
        let config = Config::parse(&minimal(), Path::new("/etc/land-hall"), "kiosk.toml").unwrap();
        assert_eq!(config.data_dir, Path::new("/etc/land-hall/kiosk-data"));
        assert_eq!(config.page_size, protocol::MAX_PAGE);
        assert_eq!(config.heartbeat_interval, Duration::from_secs(60));
    }

    #[test]
    fn the_annotated_example_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/kiosk.toml");
        let config = Config::load(&path).unwrap();
        assert_eq!(config.upstream.host_str(), Some("127.0.0.1"));
    }

    #[test]
    fn errors_name_the_line_or_key() {
        let typo = minimal().replace("hall_id", "hal_id");
        let err = Config::parse(&typo, Path::new("."), "k.toml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("k.toml:2:"), "{err}");
        let bad_key = minimal().replace(KEY, "AAAA");
        let err = Config::parse(&bad_key, Path::new("."), "k.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("content.trusted_keys"), "{err}");
        let ftp = minimal().replace("http://", "ftp://");
        assert!(Config::parse(&ftp, Path::new("."), "k.toml").is_err());
    }

    #[test]
    fn the_screen_section_is_validated() {
        let config = Config::parse(&minimal(), Path::new("."), "k.toml").unwrap();
        assert_eq!(config.screen.rotation, Rotation::R0);
        assert_eq!(config.screen.idle_timeout, Duration::from_secs(60));
        let portrait = format!(
            "{}[screen]\nrotation = 270\nidle_timeout_s = 90\n",
            minimal()
        );
        let screen = Config::parse(&portrait, Path::new("."), "k.toml")
            .unwrap()
            .screen;
        assert!(screen.rotation.is_portrait() && screen.rotation.degrees() == 270);
        assert_eq!(screen.idle_timeout, Duration::from_secs(90));
        for bad in [
            "rotation = 45",
            "idle_timeout_s = 5",
            "elder_idle_factor = 0",
            "guide_url = \"http://x/{id}\"",
            "guide_url = \"https://x/\"",
        ] {
            let text = format!("{}[screen]\n{bad}\n", minimal());
            let err = Config::parse(&text, Path::new("."), "k.toml")
                .unwrap_err()
                .to_string();
            assert!(err.contains("screen."), "{bad}: {err}");
        }
    }

    #[test]
    fn an_empty_missing_or_unsendable_token_is_refused() {
        for config in [
            minimal().replace("lhdev-0123", ""),
            minimal().replace("token = \"lhdev-0123\"\n", ""),
            minimal().replace("lhdev-0123", "two words"),
        ] {
            let err = Config::parse(&config, Path::new("."), "k.toml")
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("k.toml: upstream.token: "), "{err}");
        }
    }

    #[test]
    fn an_unusable_data_dir_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let config = |data_dir: &str| {
            let text = format!("data_dir = \"{data_dir}\"\n{}", minimal());
            Config::parse(&text, dir.path(), "k.toml").unwrap()
        };
        config("data").check_data_dir().unwrap();
        config("data/deeper/still").check_data_dir().unwrap();
        std::fs::write(dir.path().join("file"), b"x").unwrap();
        let err = config("file/data")
            .check_data_dir()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("data_dir") && err.contains("not a folder"),
            "{err}"
        );
        // A folder this process may not write in, whoever it runs as: procfs refuses writes
        // to another process's fdinfo folder even to root.
        let err = config("/proc/1/fdinfo/kiosk-data")
            .check_data_dir()
            .unwrap_err()
            .to_string();
        assert!(err.contains("not writable"), "{err}");
    }
}
