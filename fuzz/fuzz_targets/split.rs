//! Fuzzes the SQL splitter: any text splits without panicking into ordered, non-overlapping,
//! non-empty statements whose positions are right and which split back into themselves.
//! Run with `cargo +nightly fuzz run split` from the repository root (on a stable
//! toolchain, `RUSTC_BOOTSTRAP=1 cargo fuzz run split`).

#![no_main]

use crmdb_migrate::splitter::split;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(sql) = std::str::from_utf8(data) else {
        return;
    };
    let mut end = 0;
    for statement in split(sql) {
        assert!(statement.offset >= end, "statements overlap");
        end = statement.offset + statement.text.len();
        assert_eq!(&sql[statement.offset..end], statement.text);
        assert!(!statement.text.is_empty());
        assert!(!statement
            .text
            .starts_with(|c: char| c.is_ascii_whitespace() || c == '\u{b}'));

        let before = sql[..statement.offset].trim_start_matches('\u{feff}');
        let line = 1 + before.matches('\n').count();
        let column = 1 + before.rsplit('\n').next().unwrap_or("").chars().count();
        assert_eq!(statement.line as usize, line);
        assert_eq!(statement.column as usize, column);

        // A second BOM is part of a word, but a leading one is skipped when split alone.
        if statement.text.starts_with('\u{feff}') {
            continue;
        }
        let again = split(&statement.text);
        assert_eq!(
            again.len(),
            1,
            "a statement splits into several: {:?}",
            statement.text
        );
        assert_eq!(again[0].text, statement.text);
    }
});
