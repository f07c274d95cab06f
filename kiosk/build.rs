//! Compiles the kiosk's Slint UI (`ui/app.slint`) with its English translations bundled.

fn main() {
    let config = slint_build::CompilerConfiguration::new()
        .with_bundled_translations("ui/translations")
        // One translation per sentence wherever it appears, not one per component.
        .with_default_translation_context(slint_build::DefaultTranslationContext::None)
        // Element ids and types for the testing backend's lookups (ElementHandle), which the
        // UI tests and `--screenshots` use. They cost about 1 % of the binary (measured, see
        // docs/performance.md), so one build serves the kiosk and its tests.
        .with_debug_info(true);
    slint_build::compile_with_config("ui/app.slint", config).expect("the kiosk UI compiles");
}
