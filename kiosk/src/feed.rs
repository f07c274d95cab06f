//! The case feed's wire form (`GET /api/v1/cases/changes`), parsed for the mirror, pure: an
//! entry's fields are checked against its `op`, and the bulky JSON of each case is kept as
//! text borrowed from the page's bytes (see [`FeedCase`]). Storing pages is
//! [`crate::mirror::cases`]'s job.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use protocol::cases::CaseStatus;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::{Error, Result};

/// A case of the feed as the mirror stores it. The fields the mirror indexes or shows in
/// lists are parsed; steps, result and publicity are kept as the upstream's exact JSON
/// text, so a page of thousands of cases is not parsed down to every nested timestamp and
/// then serialised again — that was most of the cost of a sync. The typed contract is
/// [`protocol::cases::Case`]; the `feed_rows_follow_the_typed_contract` test holds the two
/// together, and the lookup parses the stored JSON with the typed
/// [`protocol::cases::Step`].
/// Text fields borrow from the page's bytes (no copy per field).
#[derive(Debug, Deserialize)]
pub struct FeedCase<'a> {
    #[serde(borrow)]
    pub case_no: Cow<'a, str>,
    #[serde(borrow)]
    pub kind: Cow<'a, str>,
    #[serde(borrow)]
    pub kind_label: Cow<'a, str>,
    #[serde(borrow)]
    pub applicant: Cow<'a, str>,
    #[serde(borrow)]
    pub lookup_digest: Cow<'a, str>,
    #[serde(with = "protocol::wire_time")]
    pub received_at: DateTime<Utc>,
    #[serde(with = "protocol::wire_time")]
    pub due_at: DateTime<Utc>,
    pub status: CaseStatus,
    /// JSON text.
    #[serde(borrow, deserialize_with = "raw_json")]
    pub steps: Cow<'a, str>,
    /// JSON text; `None` when absent or `null`.
    #[serde(borrow, default, deserialize_with = "raw_json_opt")]
    pub result: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "raw_json_opt")]
    pub publicity: Option<Cow<'a, str>>,
    #[serde(with = "protocol::wire_time")]
    pub updated_at: DateTime<Utc>,
}

/// A JSON value kept as its text.
fn raw_json<'de: 'a, 'a, D: serde::Deserializer<'de>>(d: D) -> Result<Cow<'a, str>, D::Error> {
    let raw: &'de RawValue = Deserialize::deserialize(d)?;
    Ok(Cow::Borrowed(raw.get()))
}

fn raw_json_opt<'de: 'a, 'a, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Cow<'a, str>>, D::Error> {
    let raw: Option<&'de RawValue> = Deserialize::deserialize(d)?;
    Ok(raw.map(|r| Cow::Borrowed(r.get())))
}

fn owned(text: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(text.into_owned())
}

impl FeedCase<'_> {
    /// The same case, no longer borrowing from the page's bytes.
    pub fn into_owned(self) -> FeedCase<'static> {
        FeedCase {
            case_no: owned(self.case_no),
            kind: owned(self.kind),
            kind_label: owned(self.kind_label),
            applicant: owned(self.applicant),
            lookup_digest: owned(self.lookup_digest),
            received_at: self.received_at,
            due_at: self.due_at,
            status: self.status,
            steps: owned(self.steps),
            result: self.result.map(owned),
            publicity: self.publicity.map(owned),
            updated_at: self.updated_at,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Op {
    Upsert,
    Delete,
}

/// What a feed entry does to the mirror.
#[derive(Debug)]
// Nearly every entry is an upsert, so the size is paid anyway; boxing the case would add an
// allocation per case to the sync's hot path.
#[allow(clippy::large_enum_variant)]
pub enum FeedOp<'a> {
    Upsert(FeedCase<'a>),
    Delete(Cow<'a, str>),
}

/// One entry of the feed: `{op: "upsert", seq, case}` or `{op: "delete", seq, case_no}`.
/// The `op` decides: an entry that carries the other field, or neither, is refused when the
/// page is parsed, so a delete can never be applied as an upsert.
#[derive(Debug, Deserialize)]
#[serde(try_from = "FeedEntry<'a>", bound(deserialize = "'de: 'a"))]
pub struct FeedChange<'a> {
    pub seq: u64,
    pub op: FeedOp<'a>,
}

/// The wire form of a [`FeedChange`], before its `op` is checked against its fields.
#[derive(Deserialize)]
struct FeedEntry<'a> {
    op: Op,
    seq: u64,
    #[serde(borrow, default)]
    case: Option<FeedCase<'a>>,
    #[serde(borrow, default)]
    case_no: Option<Cow<'a, str>>,
}

impl<'a> TryFrom<FeedEntry<'a>> for FeedChange<'a> {
    type Error = String;

    fn try_from(entry: FeedEntry<'a>) -> Result<Self, String> {
        let seq = entry.seq;
        let op = match (entry.op, entry.case, entry.case_no) {
            (Op::Upsert, Some(case), None) if case.steps.starts_with('[') => FeedOp::Upsert(case),
            (Op::Delete, None, Some(case_no)) => FeedOp::Delete(case_no),
            (Op::Upsert, ..) => {
                return Err(format!(
                    "feed entry {seq}: an upsert carries a case (with a steps array) and no case_no"
                ));
            }
            (Op::Delete, ..) => {
                return Err(format!(
                    "feed entry {seq}: a delete carries a case_no and no case"
                ));
            }
        };
        Ok(Self { seq, op })
    }
}

impl FeedChange<'_> {
    pub fn into_owned(self) -> FeedChange<'static> {
        FeedChange {
            seq: self.seq,
            op: match self.op {
                FeedOp::Upsert(case) => FeedOp::Upsert(case.into_owned()),
                FeedOp::Delete(case_no) => FeedOp::Delete(owned(case_no)),
            },
        }
    }
}

/// A page of `GET /api/v1/cases/changes`, ready to apply.
#[derive(Debug, Deserialize)]
pub struct FeedPage<'a> {
    #[serde(borrow)]
    pub changes: Vec<FeedChange<'a>>,
    pub next_after: u64,
    pub has_more: bool,
}

impl FeedPage<'_> {
    /// The same page, no longer borrowing from its bytes, to hand to another thread.
    pub fn into_owned(self) -> FeedPage<'static> {
        FeedPage {
            changes: self
                .changes
                .into_iter()
                .map(FeedChange::into_owned)
                .collect(),
            next_after: self.next_after,
            has_more: self.has_more,
        }
    }
}

/// Parses a feed page, pure; entries whose fields do not fit their `op` are refused.
pub fn parse_page(bytes: &[u8]) -> Result<FeedPage<'_>> {
    serde_json::from_slice(bytes).map_err(|e| {
        Error::Invalid(format!(
            "the upstream's feed page does not follow the contract: {e}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mirror::cases::tests::case;

    /// A feed page with one raw entry.
    fn one_entry(entry: serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "changes": [entry], "next_after": 7, "has_more": false
        }))
        .unwrap()
    }

    #[test]
    fn entries_whose_fields_do_not_fit_their_op_are_refused() {
        let case = serde_json::to_value(case("A-1", "1")).unwrap();
        let refused = |entry: serde_json::Value, why: &str| {
            let err = parse_page(&one_entry(entry)).unwrap_err().to_string();
            assert!(err.contains("feed entry 7") && err.contains(why), "{err}");
        };
        // A delete that also carries a case must not be applied as an upsert of it.
        refused(
            serde_json::json!({"op": "delete", "seq": 7, "case_no": "A-1", "case": case}),
            "a delete carries a case_no and no case",
        );
        refused(
            serde_json::json!({"op": "delete", "seq": 7}),
            "a delete carries",
        );
        refused(
            serde_json::json!({"op": "upsert", "seq": 7}),
            "an upsert carries a case",
        );
        refused(
            serde_json::json!({"op": "upsert", "seq": 7, "case": case, "case_no": "A-1"}),
            "an upsert carries a case",
        );
        let mut flat_steps = case.clone();
        flat_steps["steps"] = serde_json::json!("受理");
        refused(
            serde_json::json!({"op": "upsert", "seq": 7, "case": flat_steps}),
            "steps array",
        );

        let delete = one_entry(serde_json::json!({"op": "delete", "seq": 7, "case_no": "A-1"}));
        let page = parse_page(&delete).unwrap();
        assert!(matches!(&page.changes[0].op, FeedOp::Delete(no) if no == "A-1"));
    }
}
