//! Planning a search over content, pure.
//!
//! The FTS5 trigram tokenizer indexes every run of three characters, which suits Chinese
//! (no word boundaries) — but a MATCH term needs at least three characters, while most
//! Chinese search words are two (宅基, 采矿, 登记). Terms of three or more characters go
//! through the index; shorter ones become `LIKE` patterns over the same rows, which stays
//! cheap because a hall's content is hundreds of items, not millions.

/// Terms beyond this many are ignored; a touch keyboard never produces more.
const MAX_TERMS: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPlan {
    /// An FTS5 MATCH expression (quoted phrases, implicitly ANDed), if any term is long enough.
    pub fts: Option<String>,
    /// `LIKE … ESCAPE '\'` patterns for the short terms, all of which must match.
    pub like: Vec<String>,
}

impl SearchPlan {
    pub fn is_empty(&self) -> bool {
        self.fts.is_none() && self.like.is_empty()
    }
}

fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '，' | '。' | '、' | '；' | '：' | ',' | ';' | '　')
}

/// Quotes a term as an FTS5 string, so that operators and punctuation in it are literal.
fn fts_phrase(term: &str) -> String {
    format!("\"{}\"", term.replace('"', "\"\""))
}

fn like_pattern(term: &str) -> String {
    let mut pattern = String::from("%");
    for c in term.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

pub fn plan(query: &str) -> SearchPlan {
    let mut phrases = Vec::new();
    let mut like = Vec::new();
    for term in query
        .split(is_separator)
        .filter(|t| !t.is_empty())
        .take(MAX_TERMS)
    {
        if term.chars().count() >= 3 {
            phrases.push(fts_phrase(term));
        } else {
            like.push(like_pattern(term));
        }
    }
    SearchPlan {
        fts: (!phrases.is_empty()).then(|| phrases.join(" ")),
        like,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_terms_become_like_patterns_and_long_ones_fts_phrases() {
        let p = plan("宅基 宅基地审批");
        assert_eq!(p.fts.as_deref(), Some("\"宅基地审批\""));
        assert_eq!(p.like, vec!["%宅基%".to_owned()]);
        assert_eq!(plan("登记").fts, None);
    }

    #[test]
    fn operators_and_wildcards_are_literal() {
        assert_eq!(plan("a\"b OR").fts.as_deref(), Some("\"a\"\"b\""));
        assert_eq!(plan("5%").like, vec!["%5\\%%".to_owned()]);
        assert_eq!(plan("OR").like, vec!["%OR%".to_owned()]);
    }

    #[test]
    fn chinese_punctuation_separates_and_blank_is_empty() {
        let p = plan("采矿，登记");
        assert_eq!(p.like.len(), 2);
        assert!(plan("  　 ").is_empty());
    }
}
