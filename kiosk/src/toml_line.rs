//! Where in a TOML text a parse error is, for the `file:line:` of configuration and content
//! errors.

/// The 1-based line of `err` in `text`, where `text` starts on line `first_line` of its file
/// (TOML front matter starts below its fence). The first line when the error has no span.
pub(crate) fn of_error(text: &str, err: &toml::de::Error, first_line: usize) -> usize {
    err.span().map_or(first_line, |span| {
        first_line + text[..span.start.min(text.len())].matches('\n').count()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_from_the_first_line_of_the_text() {
        let text = "a = 1\nb = \nc = 3\n";
        let err = toml::from_str::<toml::Table>(text).unwrap_err();
        assert_eq!(super::of_error(text, &err, 1), 2);
        assert_eq!(super::of_error(text, &err, 10), 11);
    }
}
