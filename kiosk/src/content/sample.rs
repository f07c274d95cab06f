//! The built-in sample content: `config/content-sample/`, embedded at build time and compiled
//! by the same code as a real release. A kiosk that has never synced shows it, marked as
//! sample ([`crate::mirror::content::ContentStatus::sample`]), instead of empty pages.

use super::source::{Compiled, SourceFile, compile};

macro_rules! sample_files {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_bytes!(concat!("../../../config/content-sample/", $path)))),*]
    };
}

const FILES: &[(&str, &[u8])] = sample_files![
    "settings.toml",
    "guides/homestead.md",
    "guides/construction-land.md",
    "guides/mining-right.md",
    "guides/real-estate.md",
    "policies/homestead-management.md",
    "policies/real-estate-registration.md",
    "notices/national-day.md",
    "notices/service-hours.md",
    "notices/system-upgrade.md",
    "publicity/homestead-2026-11.toml",
    "media/homestead-flow.svg",
];

/// The sample release, compiled.
pub fn builtin() -> Compiled {
    let files: Vec<SourceFile> = FILES
        .iter()
        .map(|(path, bytes)| SourceFile {
            path: (*path).to_owned(),
            bytes: bytes.to_vec(),
        })
        .collect();
    compile(&files).expect("the embedded sample content compiles (checked by a test)")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_sample_compiles_with_a_guide_per_seeded_procedure() {
        let compiled = super::builtin();
        for procedure in [
            "homestead",
            "construction_land",
            "mining_right",
            "real_estate",
        ] {
            assert!(
                compiled.items.iter().any(|(_, item)| matches!(item,
                    protocol::items::Item::Guide(g) if g.procedure.as_deref() == Some(procedure))),
                "no guide for {procedure}"
            );
        }
        assert_eq!(compiled.media.len(), 1);
    }

    #[test]
    fn every_file_of_the_sample_folder_is_embedded() {
        fn walk(root: &std::path::Path, dir: &std::path::Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                if path.is_dir() {
                    walk(root, &path, out);
                } else if !name.starts_with('.') && name != "README.md" {
                    out.push(
                        path.strip_prefix(root)
                            .unwrap()
                            .to_string_lossy()
                            .replace('\\', "/"),
                    );
                }
            }
        }
        let root =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/content-sample");
        let mut on_disk = Vec::new();
        walk(&root, &root, &mut on_disk);
        on_disk.sort();
        let mut embedded: Vec<String> = super::FILES.iter().map(|(p, _)| (*p).to_owned()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded, "add new sample files to FILES");
    }
}
