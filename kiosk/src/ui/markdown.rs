//! Content Markdown as the kiosk shows it, pure: headings, paragraphs and list items as
//! [`Block`]s of plain text (a touch screen has no links to follow, no code to copy), and the
//! blocks cut into pages a visitor turns with 上一页 / 下一页.

use std::ops::Range;

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use super::{Block, BlockKind};

/// A paragraph longer than this is cut at a sentence end into several blocks, so that no
/// single text on screen is longer than a page (a 64 kB paragraph would otherwise be laid out
/// and drawn whole).
const MAX_BLOCK_CHARS: usize = 400;

fn block(kind: BlockKind, marker: &str, text: &str) -> Block {
    Block {
        kind,
        marker: marker.into(),
        text: text.trim().into(),
    }
}

/// Cuts `text` after sentence ends (。！？；) into pieces of at most `MAX_BLOCK_CHARS`, or
/// anywhere when a sentence is longer.
fn pieces(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut count = 0;
    let mut last_end = None;
    for c in text.chars() {
        current.push(c);
        count += 1;
        if matches!(c, '。' | '！' | '？' | '；' | '.' | '!' | '?' | ';') {
            last_end = Some(current.len());
        }
        if count >= MAX_BLOCK_CHARS {
            let cut = last_end.unwrap_or(current.len());
            let rest = current.split_off(cut);
            out.push(std::mem::replace(&mut current, rest));
            count = current.chars().count();
            last_end = None;
        }
    }
    if !current.trim().is_empty() {
        out.push(current);
    }
    out
}

/// The blocks of a Markdown text (at most 64 kB: a release's items are checked for that).
pub fn blocks(markdown: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut text = String::new();
    // Numbers of the ordered lists we are in (None: a bulleted list).
    let mut lists: Vec<Option<u64>> = Vec::new();
    let mut marker = String::new();
    let mut heading = false;
    let flush = |out: &mut Vec<Block>, text: &mut String, heading: bool, marker: &mut String| {
        if text.trim().is_empty() {
            text.clear();
            return;
        }
        let kind = if heading {
            BlockKind::Heading
        } else if marker.is_empty() {
            BlockKind::Paragraph
        } else {
            BlockKind::Item
        };
        for (i, piece) in pieces(text).iter().enumerate() {
            // A long item keeps its marker on its first piece only.
            let m = if i == 0 { marker.as_str() } else { "" };
            let kind = if i > 0 && kind == BlockKind::Item {
                BlockKind::Paragraph
            } else {
                kind
            };
            out.push(block(kind, m, piece));
        }
        text.clear();
        marker.clear();
    };
    for event in Parser::new_ext(
        markdown,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    ) {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                flush(&mut out, &mut text, false, &mut marker);
                heading = level <= HeadingLevel::H6;
            }
            Event::End(TagEnd::Heading(_)) => {
                flush(&mut out, &mut text, true, &mut marker);
                heading = false;
            }
            Event::Start(Tag::List(start)) => {
                flush(&mut out, &mut text, false, &mut marker);
                lists.push(start);
            }
            Event::End(TagEnd::List(_)) => {
                flush(&mut out, &mut text, false, &mut marker);
                lists.pop();
            }
            Event::Start(Tag::Item) => {
                flush(&mut out, &mut text, false, &mut marker);
                marker = match lists.last_mut() {
                    Some(Some(n)) => {
                        let m = format!("{n}.");
                        *n += 1;
                        m
                    }
                    _ => "•".into(),
                };
            }
            Event::End(TagEnd::Item) => {
                flush(&mut out, &mut text, heading, &mut marker);
                // An empty item leaves no marker for what follows.
                marker.clear();
            }
            Event::End(TagEnd::Paragraph | TagEnd::TableRow | TagEnd::BlockQuote(_)) => {
                flush(&mut out, &mut text, heading, &mut marker);
            }
            Event::End(TagEnd::TableCell) => text.push('　'),
            Event::Text(t) | Event::Code(t) => text.push_str(&t),
            // Chinese runs lines together; Latin words need a space.
            Event::SoftBreak if text.ends_with(|c: char| c.is_ascii_alphanumeric()) => {
                text.push(' ');
            }
            Event::HardBreak => text.push('\n'),
            _ => {}
        }
    }
    flush(&mut out, &mut text, heading, &mut marker);
    out
}

/// How much a block weighs against a page's budget: its characters, and a line's worth for
/// its spacing (a heading more).
fn weight(block: &Block) -> usize {
    let chars = block.text.chars().count();
    match block.kind {
        BlockKind::Heading => chars + 80,
        _ => chars + 40,
    }
}

/// Cuts `blocks` into pages of about `budget` characters each; a heading never ends a page.
/// There is always at least one page, empty for no blocks.
pub fn pages(blocks: &[Block], budget: usize) -> Vec<Range<usize>> {
    let mut pages = Vec::new();
    let mut start = 0;
    let mut used = 0;
    for (i, b) in blocks.iter().enumerate() {
        let w = weight(b);
        if i > start && used + w > budget {
            // Take a heading just before the cut along to the next page.
            let cut = if blocks[i - 1].kind == BlockKind::Heading && i - 1 > start {
                i - 1
            } else {
                i
            };
            pages.push(start..cut);
            used = blocks[cut..i].iter().map(weight).sum();
            start = cut;
        }
        used += w;
    }
    pages.push(start..blocks.len());
    pages
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(blocks: &[Block]) -> Vec<(BlockKind, String, String)> {
        blocks
            .iter()
            .map(|b| (b.kind, b.marker.to_string(), b.text.to_string()))
            .collect()
    }

    #[test]
    fn headings_paragraphs_and_lists() {
        let md = "## 受理条件\n1. 申请人为本集体经济组织成员，\n且以户为单位申请；\n2. 符合“一户一宅”。\n\n不收费。\n\n- 甲\n- **乙** `丙`\n";
        let got = texts(&blocks(md));
        let want = [
            (BlockKind::Heading, "", "受理条件"),
            (
                BlockKind::Item,
                "1.",
                "申请人为本集体经济组织成员，且以户为单位申请；",
            ),
            (BlockKind::Item, "2.", "符合“一户一宅”。"),
            (BlockKind::Paragraph, "", "不收费。"),
            (BlockKind::Item, "•", "甲"),
            (BlockKind::Item, "•", "乙 丙"),
        ]
        .map(|(k, m, t)| (k, m.to_owned(), t.to_owned()));
        assert_eq!(got, want);
    }

    #[test]
    fn links_and_images_leave_their_text_and_latin_lines_keep_a_space() {
        let got = texts(&blocks(
            "See [the portal](https://x.gov.cn)\nfor ![流程图](a.png) more.",
        ));
        assert_eq!(got[0].2, "See the portal for 流程图 more.");
    }

    #[test]
    fn a_huge_paragraph_is_cut_at_sentence_ends() {
        let sentence = "宅基地审批须经乡镇审核。";
        let md = sentence.repeat(1_000);
        let out = blocks(&md);
        assert!(out.len() > 20);
        assert!(
            out.iter()
                .all(|b| b.text.chars().count() <= MAX_BLOCK_CHARS)
        );
        assert!(
            out.iter().all(|b| b.text.ends_with('。')),
            "cut at sentence ends"
        );
        let joined: String = out.iter().map(|b| b.text.as_str()).collect();
        assert_eq!(joined, md, "nothing lost");
        // A "sentence" without any end is cut anyway.
        let run = "宅".repeat(1_000);
        let out = blocks(&run);
        assert_eq!(out.len(), 3);
    }

    #[test]
    fn pages_cover_every_block_once_and_headings_start_pages() {
        let mut md = String::new();
        for i in 0..30 {
            md.push_str(&format!("## 第{i}节\n\n{}\n\n", "内容。".repeat(60)));
        }
        let all = blocks(&md);
        let pages = pages(&all, 800);
        assert!(pages.len() > 5);
        assert_eq!(pages.first().unwrap().start, 0);
        assert_eq!(pages.last().unwrap().end, all.len());
        for pair in pages.windows(2) {
            assert_eq!(pair[0].end, pair[1].start);
        }
        for page in &pages {
            assert!(!page.is_empty());
            assert_ne!(
                all[page.end - 1].kind,
                BlockKind::Heading,
                "{page:?} ends on a heading"
            );
        }
        assert_eq!(super::pages(&[], 800), vec![0..0]);
    }
}
