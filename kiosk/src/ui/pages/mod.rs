//! One controller per page: each keeps its part of the visitor's session, reads the mirror and
//! feeds its page's adapter. The shell calls them through the functions here.

pub(super) mod attract;
pub(super) mod documents;
pub(super) mod guides;
pub(super) mod home;
pub(super) mod lookup;
pub(super) mod progress;
pub(super) mod rating;

use std::ops::Range;
use std::rc::Rc;

use protocol::content::EntryKind;
use slint::{ComponentHandle, ModelRc, VecModel};

use super::shell::Shell;
use super::{AppAdapter, Block, ItemKind, KioskWindow, ListRow, markdown};
use crate::mirror::content::ItemSummary;

/// How a page fits the screen: rows per list page, characters per text page, steps side by
/// side. Sizes follow the theme (`ui/theme.slint`) at 1920×1080.
#[derive(Debug, Clone, Copy)]
pub(super) struct Layout {
    pub portrait: bool,
    pub elder: bool,
}

impl Layout {
    pub fn of(shell: &Shell, ui: &KioskWindow) -> Self {
        Self {
            portrait: ui.global::<AppAdapter>().get_portrait(),
            elder: shell.state.borrow().session.elder,
        }
    }

    pub fn list_rows(self) -> u32 {
        match (self.portrait, self.elder) {
            (false, false) => 5,
            (false, true) => 3,
            (true, false) => 11,
            (true, true) => 7,
        }
    }

    pub fn page_chars(self) -> usize {
        match (self.portrait, self.elder) {
            (false, false) => 1_300,
            (false, true) => 600,
            (true, false) => 1_800,
            (true, true) => 900,
        }
    }

    pub fn timeline_columns(self) -> usize {
        if self.portrait || self.elder { 2 } else { 4 }
    }
}

pub(super) fn model<T: Clone + 'static>(items: Vec<T>) -> ModelRc<T> {
    ModelRc::new(VecModel::from(items))
}

/// A text cut into pages.
#[derive(Default)]
pub(super) struct Paged {
    pub blocks: Vec<Block>,
    pub pages: Vec<Range<usize>>,
}

impl Paged {
    pub fn new(blocks: Vec<Block>, layout: Layout) -> Self {
        let pages = markdown::pages(&blocks, layout.page_chars());
        Self { blocks, pages }
    }

    pub fn count(&self) -> usize {
        self.pages.len().max(1)
    }

    /// The blocks of page `index` (from 0, clamped).
    pub fn page(&self, index: usize) -> ModelRc<Block> {
        let range = self
            .pages
            .get(index.min(self.count() - 1))
            .cloned()
            .unwrap_or_default();
        model(self.blocks[range].to_vec())
    }
}

pub(super) fn item_kind(kind: EntryKind) -> ItemKind {
    match kind {
        EntryKind::Guide => ItemKind::Guide,
        EntryKind::Policy => ItemKind::Policy,
        EntryKind::Publicity => ItemKind::Publicity,
        EntryKind::Notice => ItemKind::Notice,
        EntryKind::Settings | EntryKind::Media => ItemKind::Unnamed,
    }
}

/// A list row of an item; `named` puts its kind before the detail (mixed lists).
pub(super) fn row(item: &ItemSummary, named: bool) -> ListRow {
    let meta = [item.category.as_deref(), item.date.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ");
    ListRow {
        id: item.id.as_str().into(),
        title: item.title.as_str().into(),
        meta: meta.into(),
        kind: if named {
            item_kind(item.kind)
        } else {
            ItemKind::Unnamed
        },
        urgent: item.kind == EntryKind::Notice && item.priority >= 5,
    }
}

/// Pages of a list of `total` items, `per_page` each (at least one page).
pub(super) fn page_count(total: u64, per_page: u32) -> u32 {
    (total.div_ceil(u64::from(per_page.max(1))) as u32).max(1)
}

pub(super) fn install(window: &KioskWindow, shell: &Rc<Shell>) {
    home::install(window, shell);
    lookup::install(window, shell);
    progress::install(window, shell);
    guides::install(window, shell);
    documents::install(window, shell);
    rating::install(window, shell);
}

/// Every page as the session has it (a fresh session: empty pages).
pub(super) fn render_all(shell: &Shell, ui: &KioskWindow) {
    lookup::render(shell, ui);
    progress::render(shell, ui);
    guides::render(shell, ui);
    documents::render(shell, ui);
    rating::render(shell, ui);
}

/// The screen's shape or elder mode changed: lists and texts are cut again.
pub(super) fn relayout(shell: &Shell, ui: &KioskWindow) {
    progress::render(shell, ui);
    guides::render(shell, ui);
    documents::render(shell, ui);
}

/// A content release was applied.
pub(super) fn content_changed(shell: &Shell, ui: &KioskWindow) {
    home::load(shell, ui);
    attract::load(shell, ui);
    guides::content_changed(shell, ui);
    documents::content_changed(shell, ui);
    progress::render(shell, ui);
}
