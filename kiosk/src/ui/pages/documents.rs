//! 政策公开, 结果公示 and 通知公告: a paged list of each, and an item on its own page (text
//! paged, pictures, a publicity list's approved cases).

use std::rc::Rc;

use protocol::items::Item;
use slint::ComponentHandle;

use super::{Layout, Paged, model, page_count, row};
use crate::mirror::content::PageRequest;
use crate::ui::shell::Shell;
use crate::ui::{
    Block, DocumentKind, DocumentsAdapter, KioskWindow, Page, Picture, PublicityEntryView,
    markdown, pictures,
};

/// Approved cases shown per page of a publicity list.
const ENTRIES_PER_PAGE: usize = 12;

/// An item as shown, read and laid out when opened (and after a content release).
pub(crate) struct Article {
    title: String,
    meta: String,
    blocks: Vec<Block>,
    pictures: Vec<Picture>,
    entries: Vec<PublicityEntryView>,
}

#[derive(Clone)]
pub(crate) struct Open {
    pub id: String,
    /// From 0.
    pub page: usize,
    /// Where 返回 goes when the item was opened from elsewhere (home's ticker, a search).
    pub from: Option<Page>,
    /// `None`: not in the applied content (withdrawn while open).
    pub article: Option<Rc<Article>>,
}

#[derive(Clone)]
pub(crate) struct State {
    pub kind: DocumentKind,
    /// From 0.
    pub page: u32,
    pub open: Option<Open>,
}

impl Default for State {
    fn default() -> Self {
        Self {
            kind: DocumentKind::Policies,
            page: 0,
            open: None,
        }
    }
}

fn render_list(shell: &Shell, ui: &KioskWindow, layout: Layout, state: &State) {
    let adapter = ui.global::<DocumentsAdapter>();
    let per_page = layout.list_rows();
    let request = PageRequest {
        offset: state.page * per_page,
        limit: per_page,
    };
    let mirror = &shell.mirror;
    let result = match state.kind {
        DocumentKind::Policies => mirror.policies(request),
        DocumentKind::Publicity => mirror.publicity(request),
        DocumentKind::Notices => mirror.notices_at(shell.now(), request),
    };
    let (rows, total) = match result {
        Ok(page) => (
            page.items.iter().map(|i| row(i, false)).collect(),
            page.total,
        ),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read a list");
            (Vec::new(), 0)
        }
    };
    adapter.set_rows(model(rows));
    adapter.set_page(state.page as i32 + 1);
    adapter.set_pages(page_count(total, per_page) as i32);
}

/// Reads and lays out the item `id`; `None` when the content has no such item.
fn article(shell: &Shell, id: &str) -> Option<Rc<Article>> {
    let item = shell.mirror.item(id).unwrap_or_else(|e| {
        tracing::warn!(error = %e, id, "cannot read an item");
        None
    })?;
    let (title, meta, body, images, entries) = match item {
        Item::Policy(p) => {
            let meta = [
                Some(p.issuer),
                p.document_no,
                Some(p.published_on.to_string()),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" · ");
            (p.title, meta, p.body, p.images, Vec::new())
        }
        Item::Publicity(p) => (
            p.title,
            format!("{} — {}", p.starts_on, p.ends_on),
            p.body,
            Vec::new(),
            p.entries,
        ),
        Item::Notice(n) => (
            n.title,
            shell.clock.date(n.valid_from),
            n.body,
            Vec::new(),
            Vec::new(),
        ),
        Item::Guide(_) | Item::Settings(_) => return None,
    };
    Some(Rc::new(Article {
        title,
        meta,
        blocks: markdown::blocks(&body),
        pictures: pictures::pictures(&shell.mirror, &shell.blobs, &images),
        entries: entries
            .iter()
            .map(|e| PublicityEntryView {
                case_no: e.case_no.as_str().into(),
                applicant: e.applicant.as_str().into(),
                location: e.location.as_str().into(),
                summary: e.summary.as_str().into(),
            })
            .collect(),
    }))
}

/// A page of an item: its text first, then its publicity entries (the last text page carries
/// the first of them).
fn render_item(ui: &KioskWindow, layout: Layout, open: &Open) {
    let adapter = ui.global::<DocumentsAdapter>();
    let Some(article) = &open.article else {
        adapter.set_withdrawn(true);
        adapter.set_blocks(model(Vec::new()));
        adapter.set_pictures(model(Vec::new()));
        adapter.set_entries(model(Vec::new()));
        adapter.set_detail_page(1);
        adapter.set_detail_pages(1);
        return;
    };
    let paged = Paged::new(article.blocks.clone(), layout);
    let entry_pages = article.entries.len().div_ceil(ENTRIES_PER_PAGE);
    let pages = (paged.count() + entry_pages.saturating_sub(1)).max(1);
    let page = open.page.min(pages - 1);
    adapter.set_withdrawn(false);
    adapter.set_title(article.title.as_str().into());
    adapter.set_meta(article.meta.as_str().into());
    let on_text = page < paged.count();
    adapter.set_blocks(if on_text {
        paged.page(page)
    } else {
        model(Vec::new())
    });
    adapter.set_pictures(model(if page + 1 == paged.count() {
        article.pictures.clone()
    } else {
        Vec::new()
    }));
    let entries = if page + 1 >= paged.count() {
        let entry_page = page + 1 - paged.count();
        article
            .entries
            .iter()
            .skip(entry_page * ENTRIES_PER_PAGE)
            .take(ENTRIES_PER_PAGE)
            .cloned()
            .collect()
    } else {
        Vec::new()
    };
    adapter.set_entries(model(entries));
    adapter.set_detail_page(page as i32 + 1);
    adapter.set_detail_pages(pages as i32);
}

pub(crate) fn render(shell: &Shell, ui: &KioskWindow) {
    let layout = Layout::of(shell, ui);
    let state = shell.state.borrow().session.documents.clone();
    let adapter = ui.global::<DocumentsAdapter>();
    adapter.set_kind(state.kind);
    adapter.set_open(state.open.is_some());
    match &state.open {
        Some(open) => render_item(ui, layout, open),
        None => render_list(shell, ui, layout, &state),
    }
}

fn update(shell: &Shell, ui: &KioskWindow, f: impl FnOnce(&mut State)) {
    f(&mut shell.state.borrow_mut().session.documents);
    render(shell, ui);
}

fn bump(ui: &KioskWindow) {
    let adapter = ui.global::<DocumentsAdapter>();
    adapter.set_generation(adapter.get_generation() + 1);
}

/// A list, from home.
pub(crate) fn open(shell: &Shell, ui: &KioskWindow, kind: DocumentKind) {
    update(shell, ui, |s| {
        *s = State {
            kind,
            ..State::default()
        };
    });
    shell.show(Page::Documents);
}

/// One item; `from` is where 返回 goes (its list when `None`).
pub(crate) fn open_item(
    shell: &Shell,
    ui: &KioskWindow,
    kind: DocumentKind,
    id: &str,
    from: Option<Page>,
) {
    let article = article(shell, id);
    update(shell, ui, |s| {
        if s.kind != kind {
            *s = State::default();
        }
        s.kind = kind;
        s.open = Some(Open {
            id: id.to_owned(),
            page: 0,
            from,
            article,
        });
    });
    bump(ui);
    shell.show(Page::Documents);
}

/// 返回: from an item to its list or where it was opened; `false` from a list (home).
pub(crate) fn back(shell: &Shell, ui: &KioskWindow) -> bool {
    let open = shell.state.borrow().session.documents.open.clone();
    match open {
        Some(Open {
            from: Some(page), ..
        }) => {
            update(shell, ui, |s| s.open = None);
            shell.show(page);
            true
        }
        Some(_) => {
            update(shell, ui, |s| s.open = None);
            true
        }
        None => false,
    }
}

/// A content release: the list or item is drawn again from the new content, in place.
pub(crate) fn content_changed(shell: &Shell, ui: &KioskWindow) {
    let open = shell
        .state
        .borrow()
        .session
        .documents
        .open
        .as_ref()
        .map(|o| o.id.clone());
    let article = open.and_then(|id| article(shell, &id));
    if let Some(open) = &mut shell.state.borrow_mut().session.documents.open {
        open.article = article;
    }
    render(shell, ui);
}

pub(super) fn install(window: &KioskWindow, shell: &Rc<Shell>) {
    let adapter = window.global::<DocumentsAdapter>();
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
    let weak = Rc::downgrade(shell);
    adapter.on_open_item(move |id| {
        if let Some(shell) = weak.upgrade()
            && let Some(ui) = shell.ui()
        {
            let kind = shell.state.borrow().session.documents.kind;
            open_item(&shell, &ui, kind, &id, None);
        }
    });
    adapter.on_previous_page(on(|shell, ui| {
        update(shell, ui, |s| s.page = s.page.saturating_sub(1))
    }));
    adapter.on_next_page(on(|shell, ui| {
        let pages = ui.global::<DocumentsAdapter>().get_pages() as u32;
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
        let pages = ui.global::<DocumentsAdapter>().get_detail_pages() as usize;
        update(shell, ui, |s| {
            if let Some(open) = &mut s.open {
                open.page = (open.page + 1).min(pages.saturating_sub(1));
            }
        });
        bump(ui);
    }));
}
