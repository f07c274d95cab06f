//! Service ratings (好差评), `POST /api/v1/ratings`, idempotent by `rating_id`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Reason codes a kiosk offers; the national 好差评 scheme's categories.
pub const REASON_CODES: &[(&str, &str)] = &[
    ("fast", "办理快捷"),
    ("polite", "态度热情"),
    ("clear_guidance", "指引清晰"),
    ("slow", "等候时间长"),
    ("unclear_guidance", "指引不清"),
    ("repeat_visits", "多次跑动"),
    ("impolite", "态度不好"),
    ("other", "其他"),
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rating {
    /// Made by the device when the applicant rates; the same id twice is one rating.
    pub rating_id: Uuid,
    pub device_id: String,
    pub hall_id: String,
    #[serde(default)]
    pub case_no: Option<String>,
    /// 1 (非常不满意) to 5 (非常满意).
    pub score: u8,
    #[serde(default)]
    pub reasons: Vec<String>,
    pub rated_at: DateTime<Utc>,
}

impl Rating {
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=5).contains(&self.score) {
            return Err(format!("score must be 1 to 5, got {}", self.score));
        }
        if self.reasons.len() > REASON_CODES.len() {
            return Err("too many reason codes".into());
        }
        if let Some(bad) = self
            .reasons
            .iter()
            .find(|r| !REASON_CODES.iter().any(|(code, _)| code == r))
        {
            return Err(format!("unknown reason code {bad:?}"));
        }
        if self
            .case_no
            .as_ref()
            .is_some_and(|c| c.is_empty() || c.len() > 64)
        {
            return Err("case_no must be 1 to 64 bytes".into());
        }
        if self.device_id.is_empty() || self.device_id.len() > 64 {
            return Err("device_id must be 1 to 64 bytes".into());
        }
        Ok(())
    }
}

/// The answer to a rating: `201` when new, `200` when it was already recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatingReceipt {
    pub rating_id: Uuid,
    pub received_at: DateTime<Utc>,
}
