//! 首页: the six services and the notices ticker.

use std::rc::Rc;

use slint::ComponentHandle;

use super::{documents, guides, lookup, model, rating};
use crate::mirror::content::PageRequest;
use crate::ui::shell::Shell;
use crate::ui::{DocumentKind, HomeAdapter, KioskWindow, Service, TickerItem};

/// Notices the ticker turns through.
const TICKER_NOTICES: u32 = 10;

pub(super) fn install(window: &KioskWindow, shell: &Rc<Shell>) {
    let home = window.global::<HomeAdapter>();
    let weak = Rc::downgrade(shell);
    home.on_open_service(move |service| {
        let (Some(shell), Some(ui)) = (weak.upgrade(), weak.upgrade().and_then(|s| s.ui())) else {
            return;
        };
        match service {
            Service::Progress => lookup::open(&shell, &ui),
            Service::Guides => guides::open(&shell, &ui),
            Service::Policies => documents::open(&shell, &ui, DocumentKind::Policies),
            Service::Publicity => documents::open(&shell, &ui, DocumentKind::Publicity),
            Service::Notices => documents::open(&shell, &ui, DocumentKind::Notices),
            Service::Rating => rating::open(&shell, &ui, None),
        }
    });
    let weak = Rc::downgrade(shell);
    home.on_open_notice(move |id| {
        if let Some(shell) = weak.upgrade()
            && let Some(ui) = shell.ui()
        {
            documents::open_item(&shell, &ui, DocumentKind::Notices, &id, None);
        }
    });
}

/// The current notices, for the ticker.
pub(super) fn load(shell: &Shell, ui: &KioskWindow) {
    let notices = match shell
        .mirror
        .notices_at(shell.now(), PageRequest::first(TICKER_NOTICES))
    {
        Ok(page) => page.items,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the notices");
            Vec::new()
        }
    };
    let items = notices
        .iter()
        .map(|n| TickerItem {
            id: n.id.as_str().into(),
            title: n.title.as_str().into(),
        })
        .collect();
    ui.global::<HomeAdapter>().set_notices(model(items));
}
