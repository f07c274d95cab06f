//! The attract slideshow: the current notices, one after another, while nobody uses the kiosk.

use slint::ComponentHandle;

use super::model;
use crate::mirror::content::PageRequest;
use crate::ui::shell::Shell;
use crate::ui::{AttractAdapter, KioskWindow, Slide, markdown};

/// Notices in the slideshow, and the characters of each shown (the rest is on the notice's page).
const SLIDES: u32 = 8;
const SLIDE_CHARS: usize = 160;

pub(super) fn load(shell: &Shell, ui: &KioskWindow) {
    let now = shell.now();
    let notices = shell
        .mirror
        .notices_at(now, PageRequest::first(SLIDES))
        .map(|p| p.items)
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot read the notices");
            Vec::new()
        });
    let slides = notices
        .iter()
        .filter_map(|summary| match shell.mirror.item(&summary.id) {
            Ok(Some(protocol::items::Item::Notice(n))) => {
                let text: String = markdown::blocks(&n.body)
                    .iter()
                    .map(|b| b.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                let mut body: String = text.chars().take(SLIDE_CHARS).collect();
                if text.chars().count() > SLIDE_CHARS {
                    body.push('…');
                }
                Some(Slide {
                    title: n.title.into(),
                    body: body.into(),
                })
            }
            _ => None,
        })
        .collect();
    ui.global::<AttractAdapter>().set_slides(model(slides));
}

pub(crate) fn has_slides(ui: &KioskWindow) -> bool {
    slint::Model::row_count(&ui.global::<AttractAdapter>().get_slides()) > 0
}
