//! 办事指南: categories and a paged list, a guide's standard sections with its pictures and a
//! QR code for the phone, and a search by tapped words (the kiosk has no Chinese input method;
//! the mirror's search finds two-character words).

use std::collections::HashMap;
use std::rc::Rc;

use protocol::content::EntryKind;
use protocol::items::{Guide, GuideSection, Item};
use slint::{ComponentHandle, Image};

use super::{Layout, Paged, documents, model, page_count, row};
use crate::mirror::content::{MAX_PAGE, PageRequest};
use crate::ui::shell::Shell;
use crate::ui::{
    Block, BlockKind, DocumentKind, GuideAdapter, GuideView, KioskWindow, Page, Picture,
    SearchWord, markdown, pictures, qr,
};

/// Words offered for search, in the order shown; only those the content contains are shown.
/// Two characters are enough for the mirror's search (宅基, 登记).
const SEARCH_WORDS: &[&str] = &[
    "宅基地",
    "建房",
    "不动产",
    "登记",
    "抵押",
    "转移",
    "变更",
    "注销",
    "建设用地",
    "规划",
    "采矿",
    "探矿",
    "矿业权",
    "收费",
    "材料",
    "时限",
    "公示",
    "补正",
    "征收",
    "继承",
];

/// What the applied content offers, built when it changes.
#[derive(Default)]
pub(crate) struct Index {
    pub categories: Vec<String>,
    pub words: Vec<String>,
    /// The guide of each procedure code (`homestead`), for the case page's link.
    pub by_procedure: HashMap<String, String>,
}

/// A guide as shown, read and laid out when opened (and again after a content release), not
/// at every page turn.
pub(crate) struct Article {
    title: String,
    meta: String,
    blocks: Vec<Block>,
    pictures: Vec<Picture>,
    /// The QR code, and whether it dials the help line.
    qr: Option<(Image, bool)>,
}

/// A guide a visitor opened.
#[derive(Clone)]
pub(crate) struct Open {
    pub id: String,
    /// From 0.
    pub page: usize,
    /// Where 返回 goes: the list or search (`None`), or the page it was opened from.
    pub from: Option<Page>,
    /// `None`: not in the applied content (withdrawn while open).
    pub article: Option<Rc<Article>>,
}

#[derive(Clone)]
pub(crate) struct State {
    pub view: GuideView,
    pub category: Option<usize>,
    /// From 0.
    pub page: u32,
    pub chosen: Vec<String>,
    pub open: Option<Open>,
    /// The list view before the guide was opened (list or search).
    pub behind: GuideView,
}

impl Default for State {
    fn default() -> Self {
        Self {
            view: GuideView::List,
            category: None,
            page: 0,
            chosen: Vec::new(),
            open: None,
            behind: GuideView::List,
        }
    }
}

fn build_index(shell: &Shell) -> crate::Result<Index> {
    let mirror = &shell.mirror;
    let categories = mirror
        .guide_categories()?
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    let mut by_procedure = HashMap::new();
    let mut offset = 0;
    loop {
        let page = mirror.guides(
            None,
            PageRequest {
                offset,
                limit: MAX_PAGE,
            },
        )?;
        for summary in &page.items {
            if let Some(Item::Guide(g)) = mirror.item(&summary.id)?
                && let Some(procedure) = g.procedure
            {
                by_procedure
                    .entry(procedure)
                    .or_insert_with(|| summary.id.clone());
            }
        }
        offset += page.items.len() as u32;
        if page.items.is_empty() || u64::from(offset) >= page.total {
            break;
        }
    }
    let now = shell.now();
    let mut words = Vec::new();
    for word in SEARCH_WORDS {
        if mirror.search(word, now, PageRequest::first(1))?.total > 0 {
            words.push((*word).to_owned());
        }
    }
    Ok(Index {
        categories,
        words,
        by_procedure,
    })
}

/// The guide for a procedure code, if the content has one.
pub(crate) fn guide_for(shell: &Shell, procedure: &str) -> Option<String> {
    shell
        .state
        .borrow()
        .guides
        .by_procedure
        .get(procedure)
        .cloned()
}

/// A guide's text: its summary and the standard sections, each under its heading.
pub(crate) fn guide_blocks(guide: &Guide) -> Vec<Block> {
    let mut blocks = Vec::new();
    if let Some(summary) = &guide.summary {
        blocks.extend(markdown::blocks(summary));
    }
    for section in GuideSection::ALL {
        blocks.push(Block {
            kind: BlockKind::Heading,
            marker: Default::default(),
            text: section.label().into(),
        });
        blocks.extend(markdown::blocks(guide.sections.get(section)));
    }
    blocks
}

/// Where the QR code of a guide leads: its web page where the kiosk has one, else the phone
/// number (or page) the guide gives.
pub(crate) fn qr_target(shell: &Shell, id: &str, guide: &Guide) -> Option<String> {
    shell
        .config
        .screen
        .guide_url
        .as_ref()
        .map(|url| url.replace("{id}", id))
        .or_else(|| guide.phone_url.clone())
}

fn render_list(shell: &Shell, ui: &KioskWindow, layout: Layout, state: &State) {
    let adapter = ui.global::<GuideAdapter>();
    let per_page = layout.list_rows();
    let request = PageRequest {
        offset: state.page * per_page,
        limit: per_page,
    };
    let categories = shell.state.borrow().guides.categories.clone();
    let result = match state.view {
        GuideView::Search if state.chosen.is_empty() => None,
        GuideView::Search => Some(shell.mirror.search(
            &state.chosen.join(" "),
            shell.now(),
            request,
        )),
        _ => {
            let category = state.category.and_then(|i| categories.get(i));
            Some(shell.mirror.guides(category.map(String::as_str), request))
        }
    };
    let (rows, total) = match result {
        Some(Ok(page)) => {
            let named = state.view == GuideView::Search;
            (
                page.items.iter().map(|i| row(i, named)).collect(),
                page.total,
            )
        }
        Some(Err(e)) => {
            tracing::warn!(error = %e, "cannot read the guides");
            (Vec::new(), 0)
        }
        None => (Vec::new(), 0),
    };
    adapter.set_rows(model(rows));
    adapter.set_page(state.page as i32 + 1);
    adapter.set_pages(page_count(total, per_page) as i32);
    adapter.set_categories(model(
        categories.iter().map(|c| c.as_str().into()).collect(),
    ));
    adapter.set_category(state.category.map_or(-1, |c| c as i32));
    let words = shell.state.borrow().guides.words.clone();
    adapter.set_words(model(
        words
            .iter()
            .map(|w| SearchWord {
                text: w.as_str().into(),
                chosen: state.chosen.contains(w),
            })
            .collect(),
    ));
    adapter.set_searching(!state.chosen.is_empty());
}

/// Reads and lays out the guide `id`; `None` when the content has no such guide.
fn article(shell: &Shell, id: &str) -> Option<Rc<Article>> {
    let guide = match shell.mirror.item(id) {
        Ok(Some(Item::Guide(g))) => g,
        Ok(_) => return None,
        Err(e) => {
            tracing::warn!(error = %e, id, "cannot read a guide");
            return None;
        }
    };
    let target = qr_target(shell, id, &guide);
    let qr = target
        .as_deref()
        .and_then(qr::image)
        .map(|image| (image, target.is_some_and(|t| t.starts_with("tel:"))));
    Some(Rc::new(Article {
        title: guide.title.clone(),
        meta: format!("{} · {}", guide.category, guide.updated_on),
        blocks: guide_blocks(&guide),
        pictures: pictures::pictures(&shell.mirror, &shell.blobs, &guide.images),
        qr,
    }))
}

fn render_detail(ui: &KioskWindow, layout: Layout, open: &Open) {
    let adapter = ui.global::<GuideAdapter>();
    let Some(article) = &open.article else {
        // Withdrawn by a content release while open: say so, keep the visitor on the page.
        adapter.set_withdrawn(true);
        adapter.set_blocks(model(Vec::new()));
        adapter.set_pictures(model(Vec::new()));
        adapter.set_has_qr(false);
        adapter.set_detail_page(1);
        adapter.set_detail_pages(1);
        return;
    };
    let paged = Paged::new(article.blocks.clone(), layout);
    let page = open.page.min(paged.count() - 1);
    adapter.set_title(article.title.as_str().into());
    adapter.set_meta(article.meta.as_str().into());
    adapter.set_withdrawn(false);
    adapter.set_blocks(paged.page(page));
    // The pictures follow the text, on its last page.
    let last = page + 1 == paged.count();
    adapter.set_pictures(model(if last {
        article.pictures.clone()
    } else {
        Vec::new()
    }));
    adapter.set_detail_page(page as i32 + 1);
    adapter.set_detail_pages(paged.count() as i32);
    adapter.set_has_qr(article.qr.is_some());
    adapter.set_qr_dials(article.qr.as_ref().is_some_and(|(_, dials)| *dials));
    adapter.set_qr(
        article
            .qr
            .as_ref()
            .map(|(image, _)| image.clone())
            .unwrap_or_default(),
    );
}

pub(crate) fn render(shell: &Shell, ui: &KioskWindow) {
    let layout = Layout::of(shell, ui);
    let state = shell.state.borrow().session.guides.clone();
    let adapter = ui.global::<GuideAdapter>();
    adapter.set_view(state.view);
    match (&state.open, state.view) {
        (Some(open), GuideView::Detail) => render_detail(ui, layout, open),
        _ => render_list(shell, ui, layout, &state),
    }
}

fn update(shell: &Shell, ui: &KioskWindow, f: impl FnOnce(&mut State)) {
    f(&mut shell.state.borrow_mut().session.guides);
    render(shell, ui);
}

/// 办事指南 from home: every guide.
pub(crate) fn open(shell: &Shell, ui: &KioskWindow) {
    update(shell, ui, |s| *s = State::default());
    shell.show(Page::Guides);
}

/// One guide, from a list or another page (`from`, where 返回 goes).
pub(crate) fn open_item(shell: &Shell, ui: &KioskWindow, id: &str, from: Option<Page>) {
    let article = article(shell, id);
    update(shell, ui, |s| {
        if s.view != GuideView::Detail {
            s.behind = s.view;
        }
        s.view = GuideView::Detail;
        s.open = Some(Open {
            id: id.to_owned(),
            page: 0,
            from,
            article,
        });
    });
    ui.global::<GuideAdapter>()
        .set_generation(ui.global::<GuideAdapter>().get_generation() + 1);
    shell.show(Page::Guides);
}

/// 返回: from a guide to its list (or the page it came from); `false` from a list (home).
pub(crate) fn back(shell: &Shell, ui: &KioskWindow) -> bool {
    let state = shell.state.borrow().session.guides.clone();
    match (state.view, state.open) {
        (
            GuideView::Detail,
            Some(Open {
                from: Some(page), ..
            }),
        ) => {
            update(shell, ui, |s| {
                s.open = None;
                s.view = s.behind;
            });
            shell.show(page);
            true
        }
        (GuideView::Detail, _) => {
            update(shell, ui, |s| {
                s.open = None;
                s.view = s.behind;
            });
            true
        }
        (GuideView::Search, _) => {
            update(shell, ui, |s| s.view = GuideView::List);
            true
        }
        (GuideView::List, _) => false,
    }
}

fn open_result(shell: &Shell, ui: &KioskWindow, id: &str) {
    let kind = shell.mirror.item(id).ok().flatten().map(|item| item.kind());
    match kind {
        Some(EntryKind::Guide) => open_item(shell, ui, id, None),
        Some(EntryKind::Policy) => {
            documents::open_item(shell, ui, DocumentKind::Policies, id, Some(Page::Guides));
        }
        Some(EntryKind::Publicity) => {
            documents::open_item(shell, ui, DocumentKind::Publicity, id, Some(Page::Guides));
        }
        Some(EntryKind::Notice) => {
            documents::open_item(shell, ui, DocumentKind::Notices, id, Some(Page::Guides));
        }
        // Gone since the list was drawn: draw it again.
        _ => render(shell, ui),
    }
}

/// A content release was applied: the index is rebuilt and the page drawn again, with the
/// visitor where they were (the same list page, the same guide at the same page if it is
/// still there).
pub(crate) fn content_changed(shell: &Shell, ui: &KioskWindow) {
    let index = build_index(shell).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "cannot index the guides");
        Index::default()
    });
    let open = shell
        .state
        .borrow()
        .session
        .guides
        .open
        .as_ref()
        .map(|o| o.id.clone());
    let article = open.and_then(|id| article(shell, &id));
    let mut state = shell.state.borrow_mut();
    let guides = &mut state.session.guides;
    guides.category = guides.category.filter(|&c| c < index.categories.len());
    guides.chosen.retain(|w| index.words.contains(w));
    if let Some(open) = &mut guides.open {
        open.article = article;
    }
    state.guides = index;
    drop(state);
    render(shell, ui);
}

pub(super) fn install(window: &KioskWindow, shell: &Rc<Shell>) {
    let adapter = window.global::<GuideAdapter>();
    let on = |f: fn(&Shell, &KioskWindow)| {
        let weak = Rc::downgrade(shell);
        move || {
            if let Some(shell) = weak.upgrade()
                && let Some(ui) = shell.ui()
            {
                f(&shell, &ui);
            }
        }
    };
    let with_weak = || Rc::downgrade(shell);
    let weak = with_weak();
    adapter.on_pick_category(move |index| {
        if let Some(shell) = weak.upgrade()
            && let Some(ui) = shell.ui()
        {
            update(&shell, &ui, |s| {
                *s = State {
                    category: usize::try_from(index).ok(),
                    ..State::default()
                };
            });
        }
    });
    let weak = with_weak();
    adapter.on_open(move |id| {
        if let Some(shell) = weak.upgrade()
            && let Some(ui) = shell.ui()
        {
            open_result(&shell, &ui, &id);
        }
    });
    adapter.on_previous_page(on(|shell, ui| {
        update(shell, ui, |s| s.page = s.page.saturating_sub(1))
    }));
    adapter.on_next_page(on(|shell, ui| {
        let pages = ui.global::<GuideAdapter>().get_pages() as u32;
        update(shell, ui, |s| {
            s.page = (s.page + 1).min(pages.saturating_sub(1))
        });
    }));
    adapter.on_detail_previous(on(|shell, ui| {
        update(shell, ui, |s| {
            if let Some(open) = &mut s.open {
                open.page = open.page.saturating_sub(1);
            }
        });
        bump(ui);
    }));
    adapter.on_detail_next(on(|shell, ui| {
        let pages = ui.global::<GuideAdapter>().get_detail_pages() as usize;
        update(shell, ui, |s| {
            if let Some(open) = &mut s.open {
                open.page = (open.page + 1).min(pages.saturating_sub(1));
            }
        });
        bump(ui);
    }));
    adapter.on_open_search(on(|shell, ui| {
        update(shell, ui, |s| {
            s.view = GuideView::Search;
            s.page = 0;
        });
    }));
    let weak = with_weak();
    adapter.on_toggle_word(move |word| {
        if let Some(shell) = weak.upgrade()
            && let Some(ui) = shell.ui()
        {
            update(&shell, &ui, |s| {
                let word = word.to_string();
                if let Some(i) = s.chosen.iter().position(|w| *w == word) {
                    s.chosen.remove(i);
                } else {
                    s.chosen.push(word);
                }
                s.page = 0;
            });
        }
    });
    adapter.on_clear_search(on(|shell, ui| {
        update(shell, ui, |s| {
            s.chosen.clear();
            s.page = 0;
        });
    }));
}

/// A new page of text starts at its top.
fn bump(ui: &KioskWindow) {
    let adapter = ui.global::<GuideAdapter>();
    adapter.set_generation(adapter.get_generation() + 1);
}
