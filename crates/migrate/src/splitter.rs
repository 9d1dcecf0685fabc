//! Splits a SQL script into statements the way PostgreSQL's lexer and psql see them.
//!
//! The lexer knows standard strings (`''` escape, `standard_conforming_strings = on`), `E''`
//! strings with backslash escapes, quoted identifiers, dollar quotes with tags, `--` comments
//! and nested `/* */` comments. Like psql, a `;` inside parentheses or inside the `BEGIN ... END`
//! body of a SQL-standard `CREATE FUNCTION`/`CREATE PROCEDURE` does not end a statement.
//! Unterminated constructs run to the end of the input: the server reports those better than a
//! guess here could.

use serde::Serialize;

/// One statement of a script.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    /// From its first token to its last, without the terminating `;`; comments inside kept.
    pub text: String,
    /// 1-based line of the first token.
    pub line: u32,
    /// 1-based column (in characters) of the first token.
    pub column: u32,
    /// Byte offset of the first token in the script.
    #[serde(skip)]
    pub offset: usize,
}

/// The kinds of token the splitter and the statement analysis need to tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// A keyword or unquoted identifier.
    Word,
    /// A `"quoted"` identifier.
    QuotedIdent,
    /// Any string constant: standard, `E''`, `U&''` or dollar-quoted.
    String,
    /// A numeric constant or a `$1` parameter.
    Number,
    /// Any other single character: operators, punctuation, parentheses, `;`.
    Punct(u8),
}

/// A token's kind and byte span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: TokenKind,
    pub start: usize,
    pub end: usize,
}

/// Yields the tokens of a script, skipping whitespace and comments.
pub(crate) struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Lexer {
            src: src.as_bytes(),
            pos: if src.starts_with(BOM) { BOM.len() } else { 0 },
        }
    }

    fn peek(&self, at: usize) -> Option<u8> {
        self.src.get(at).copied()
    }

    fn skip_trivia(&mut self) {
        loop {
            match self.peek(self.pos) {
                Some(c) if is_space(c) => self.pos += 1,
                Some(b'-') if self.peek(self.pos + 1) == Some(b'-') => {
                    self.pos = find_byte(self.src, self.pos, b'\n');
                }
                Some(b'/') if self.peek(self.pos + 1) == Some(b'*') => {
                    self.pos = skip_block_comment(self.src, self.pos);
                }
                _ => return,
            }
        }
    }

    /// Moves past a string body that opened just before `self.pos`.
    fn finish_quoted(&mut self, backslash_escapes: bool) {
        let src = self.src;
        while let Some(c) = self.peek(self.pos) {
            self.pos += 1;
            match c {
                b'\\' if backslash_escapes => self.pos = (self.pos + 1).min(src.len()),
                b'\'' if self.peek(self.pos) == Some(b'\'') => self.pos += 1,
                b'\'' => return,
                _ => {}
            }
        }
    }

    /// The length of a `$tag$` opening at `at`, if one does.
    fn dollar_tag_len(&self, at: usize) -> Option<usize> {
        let mut i = at + 1;
        match self.peek(i) {
            Some(b'$') => return Some(2),
            Some(c) if is_ident_start(c) => i += 1,
            _ => return None,
        }
        while let Some(c) = self.peek(i) {
            match c {
                b'$' => return Some(i + 1 - at),
                c if is_ident_start(c) || c.is_ascii_digit() => i += 1,
                _ => return None,
            }
        }
        None
    }
}

impl Iterator for Lexer<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        self.skip_trivia();
        let start = self.pos;
        let c = self.peek(start)?;
        self.pos += 1;
        let kind = match c {
            b'\'' => {
                self.finish_quoted(false);
                TokenKind::String
            }
            b'"' => {
                while let Some(c) = self.peek(self.pos) {
                    self.pos += 1;
                    if c == b'"' {
                        if self.peek(self.pos) == Some(b'"') {
                            self.pos += 1;
                        } else {
                            break;
                        }
                    }
                }
                TokenKind::QuotedIdent
            }
            b'$' => {
                if let Some(len) = self.dollar_tag_len(start) {
                    let tag = &self.src[start..start + len];
                    self.pos = find_slice(self.src, start + len, tag)
                        .map_or(self.src.len(), |at| at + len);
                    TokenKind::String
                } else if self.peek(self.pos).is_some_and(|c| c.is_ascii_digit()) {
                    while self.peek(self.pos).is_some_and(|c| c.is_ascii_digit()) {
                        self.pos += 1;
                    }
                    TokenKind::Number
                } else {
                    TokenKind::Punct(b'$')
                }
            }
            c if c.is_ascii_digit() => {
                while self
                    .peek(self.pos)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'_')
                {
                    self.pos += 1;
                }
                TokenKind::Number
            }
            c if is_ident_start(c) => {
                while self.peek(self.pos).is_some_and(is_ident_continue) {
                    self.pos += 1;
                }
                let word = &self.src[start..self.pos];
                let next = self.peek(self.pos);
                if word.eq_ignore_ascii_case(b"e") && next == Some(b'\'') {
                    self.pos += 1;
                    self.finish_quoted(true);
                    TokenKind::String
                } else if word.eq_ignore_ascii_case(b"u")
                    && next == Some(b'&')
                    && self.peek(self.pos + 1) == Some(b'\'')
                {
                    self.pos += 2;
                    self.finish_quoted(false);
                    TokenKind::String
                } else {
                    TokenKind::Word
                }
            }
            c => TokenKind::Punct(c),
        };
        Some(Token {
            kind,
            start,
            end: self.pos,
        })
    }
}

/// A byte-order mark, which editors on Windows put at the start of files.
pub(crate) const BOM: &str = "\u{feff}";

/// PostgreSQL's whitespace, which unlike Rust's ASCII whitespace includes vertical tab.
fn is_space(c: u8) -> bool {
    c.is_ascii_whitespace() || c == 0x0b
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn is_ident_continue(c: u8) -> bool {
    is_ident_start(c) || c.is_ascii_digit() || c == b'$'
}

fn find_byte(src: &[u8], from: usize, needle: u8) -> usize {
    src[from..]
        .iter()
        .position(|&c| c == needle)
        .map_or(src.len(), |i| from + i)
}

fn find_slice(src: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    src[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| from + i)
}

/// The end of the (possibly nested) block comment opening at `at`.
pub(crate) fn skip_block_comment(src: &[u8], at: usize) -> usize {
    let mut depth = 0usize;
    let mut i = at;
    while i < src.len() {
        match (src[i], src.get(i + 1)) {
            (b'/', Some(b'*')) => {
                depth += 1;
                i += 2;
            }
            (b'*', Some(b'/')) => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    src.len()
}

/// psql's heuristic for SQL-standard function bodies: inside `CREATE [OR REPLACE]
/// FUNCTION|PROCEDURE`, `BEGIN` ... `END` (and a `CASE` ... `END` within it) nest, and their
/// semicolons do not end the statement.
#[derive(Default)]
struct BodyTracker {
    leading: [u8; 4],
    words: usize,
    begin_depth: usize,
}

impl BodyTracker {
    fn word(&mut self, word: &[u8], paren_depth: usize) {
        const MARKERS: [&[u8]; 5] = [b"create", b"function", b"procedure", b"or", b"replace"];
        if self.words < self.leading.len() && MARKERS.iter().any(|m| word.eq_ignore_ascii_case(m)) {
            self.leading[self.words] = word[0].to_ascii_lowercase();
        }
        self.words += 1;
        let l = self.leading;
        let routine = l[0] == b'c'
            && (l[1] == b'f'
                || l[1] == b'p'
                || (l[1] == b'o' && l[2] == b'r' && matches!(l[3], b'f' | b'p')));
        if !routine || paren_depth > 0 {
            return;
        }
        if word.eq_ignore_ascii_case(b"begin") {
            self.begin_depth += 1;
        } else if word.eq_ignore_ascii_case(b"case") {
            if self.begin_depth > 0 {
                self.begin_depth += 1;
            }
        } else if word.eq_ignore_ascii_case(b"end") {
            self.begin_depth = self.begin_depth.saturating_sub(1);
        }
    }
}

/// Splits `sql` into its non-empty statements, in order.
pub fn split(sql: &str) -> Vec<Statement> {
    let lines = LineIndex::new(sql);
    let mut out = Vec::new();
    let mut span: Option<(usize, usize)> = None;
    let mut parens = 0usize;
    let mut body = BodyTracker::default();
    for token in Lexer::new(sql) {
        match token.kind {
            TokenKind::Punct(b';') if parens == 0 && body.begin_depth == 0 => {
                if let Some((start, end)) = span.take() {
                    out.push(lines.statement(sql, start, end));
                }
                parens = 0;
                body = BodyTracker::default();
                continue;
            }
            TokenKind::Punct(b'(') => parens += 1,
            TokenKind::Punct(b')') => parens = parens.saturating_sub(1),
            TokenKind::Word => body.word(&sql.as_bytes()[token.start..token.end], parens),
            _ => {}
        }
        span = Some((span.map_or(token.start, |(s, _)| s), token.end));
    }
    if let Some((start, end)) = span {
        out.push(lines.statement(sql, start, end));
    }
    out
}

/// Maps byte offsets of a text to 1-based lines and character columns.
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { starts }
    }

    /// The 1-based line and character column of the byte at `offset`.
    pub(crate) fn line_col(&self, text: &str, offset: usize) -> (u32, u32) {
        let line = self.starts.partition_point(|&s| s <= offset);
        let line_start = self.starts[line - 1];
        // Only the file's leading BOM is invisible; one later in the text is a character
        // like any other (found by the fuzz target).
        let column = text.get(line_start..offset).map_or(0, |prefix| {
            let prefix = if line_start == 0 {
                prefix.trim_start_matches(BOM)
            } else {
                prefix
            };
            prefix.chars().count()
        });
        (to_u32(line), to_u32(column + 1))
    }

    fn statement(&self, sql: &str, start: usize, end: usize) -> Statement {
        let (line, column) = self.line_col(sql, start);
        Statement {
            text: sql[start..end].to_owned(),
            line,
            column,
            offset: start,
        }
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn texts(sql: &str) -> Vec<String> {
        split(sql).into_iter().map(|s| s.text).collect()
    }

    #[test]
    fn splits_on_semicolons_and_drops_empty_statements() {
        assert_eq!(texts("SELECT 1; ;;SELECT 2;\n\n"), ["SELECT 1", "SELECT 2"]);
    }

    #[test]
    fn keeps_a_trailing_statement_without_semicolon() {
        assert_eq!(texts("SELECT 1;\nSELECT 2\n"), ["SELECT 1", "SELECT 2"]);
    }

    #[test]
    fn single_quotes_with_doubled_quote() {
        assert_eq!(
            texts("SELECT 'a;''b'; SELECT 2"),
            ["SELECT 'a;''b'", "SELECT 2"]
        );
    }

    #[test]
    fn standard_strings_do_not_treat_backslash_as_escape() {
        assert_eq!(
            texts(r"SELECT 'a\'; SELECT 2"),
            [r"SELECT 'a\'", "SELECT 2"]
        );
    }

    #[test]
    fn e_strings_honour_backslash_escapes() {
        assert_eq!(
            texts(r"SELECT E'a\';b'; SELECT 2"),
            [r"SELECT E'a\';b'", "SELECT 2"]
        );
        assert_eq!(
            texts(r"SELECT e'\\'; SELECT 2"),
            [r"SELECT e'\\'", "SELECT 2"]
        );
    }

    #[test]
    fn an_identifier_ending_in_e_is_not_an_e_string() {
        assert_eq!(
            texts(r"SELECT some'\'; SELECT 2"),
            [r"SELECT some'\'", "SELECT 2"]
        );
    }

    #[test]
    fn quoted_identifiers() {
        assert_eq!(
            texts(r#"SELECT "a;""b"; SELECT 2"#),
            [r#"SELECT "a;""b""#, "SELECT 2"]
        );
    }

    #[test]
    fn dollar_quotes_with_and_without_tags() {
        let sql = "CREATE FUNCTION f() RETURNS int AS $fn$ SELECT 1; $$ ; $fn$ LANGUAGE sql;\
                   DO $$ BEGIN PERFORM 1; END $$;";
        assert_eq!(
            texts(sql),
            [
                "CREATE FUNCTION f() RETURNS int AS $fn$ SELECT 1; $$ ; $fn$ LANGUAGE sql",
                "DO $$ BEGIN PERFORM 1; END $$"
            ]
        );
    }

    #[test]
    fn dollar_inside_identifiers_and_parameters_is_not_a_quote() {
        assert_eq!(
            texts("SELECT a$$b; SELECT $1; SELECT 2"),
            ["SELECT a$$b", "SELECT $1", "SELECT 2"]
        );
    }

    #[test]
    fn comments_line_and_nested_block() {
        let sql = "-- a; b\nSELECT 1 /* x; /* y; */ z; */ + 1; /* ; */ -- ;\nSELECT 2";
        assert_eq!(
            texts(sql),
            ["SELECT 1 /* x; /* y; */ z; */ + 1", "SELECT 2"]
        );
    }

    #[test]
    fn only_comments_make_no_statement() {
        assert!(split("-- nothing\n/* here */\n").is_empty());
    }

    #[test]
    fn reports_line_and_column_of_first_token() {
        let sql = "-- header\n\n  /* c */ SELECT 1;\n\tSELECT 'é';  SELECT 3";
        let got: Vec<(u32, u32)> = split(sql).iter().map(|s| (s.line, s.column)).collect();
        assert_eq!(got, [(3, 11), (4, 2), (4, 15)]);
    }

    #[test]
    fn semicolons_inside_parentheses_do_not_split() {
        assert_eq!(
            texts("CREATE RULE r AS ON INSERT TO t DO ALSO (SELECT 1; SELECT 2); SELECT 3"),
            [
                "CREATE RULE r AS ON INSERT TO t DO ALSO (SELECT 1; SELECT 2)",
                "SELECT 3"
            ]
        );
    }

    #[test]
    fn sql_standard_function_bodies_stay_whole() {
        let sql = "CREATE OR REPLACE FUNCTION f(a int) RETURNS int LANGUAGE sql\n\
                   BEGIN ATOMIC\n  SELECT CASE WHEN a > 0 THEN 1 ELSE 2 END;\n  SELECT 3;\nEND;\n\
                   SELECT 4";
        let got = texts(sql);
        assert_eq!(got.len(), 2);
        assert!(got[0].ends_with("END"));
        assert_eq!(got[1], "SELECT 4");
    }

    #[test]
    fn begin_outside_routines_is_a_statement() {
        assert_eq!(texts("BEGIN; SELECT 1; END;"), ["BEGIN", "SELECT 1", "END"]);
    }

    #[test]
    fn unterminated_constructs_run_to_the_end() {
        assert_eq!(texts("SELECT 'a; SELECT 2"), ["SELECT 'a; SELECT 2"]);
        assert_eq!(texts("SELECT $x$ a; SELECT 2"), ["SELECT $x$ a; SELECT 2"]);
        assert_eq!(texts("SELECT 1 /* a; SELECT 2"), ["SELECT 1"]);
    }

    #[test]
    fn a_bom_after_the_first_line_counts_as_a_column() {
        let got: Vec<(u32, u32)> = split("\n\u{feff};?")
            .iter()
            .map(|s| (s.line, s.column))
            .collect();
        assert_eq!(got, vec![(2, 1), (2, 3)]);
    }

    #[test]
    fn a_leading_bom_is_ignored() {
        let got = split("\u{feff}SELECT 1");
        assert_eq!(
            (got[0].text.as_str(), got[0].line, got[0].column),
            ("SELECT 1", 1, 1)
        );
    }

    #[test]
    fn crlf_lines_are_counted() {
        let lines: Vec<u32> = split("SELECT 1;\r\nSELECT 2;\r\n\r\nSELECT 3")
            .iter()
            .map(|s| s.line)
            .collect();
        assert_eq!(lines, [1, 2, 4]);
    }

    /// Tokens that never contain a top-level `;` but often contain one inside.
    fn token() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z_][a-z0-9_]{0,6}".prop_filter("keywords steer the splitter", |w| {
                !matches!(w.as_str(), "e" | "u" | "begin" | "case" | "end" | "create")
            }),
            "[0-9]{1,4}",
            "[-+*/<>=,.:]{1}".prop_filter("comment openers", |p| p != "-" && p != "/"),
            "[a-z; ]{0,5}".prop_map(|s| format!("'{}'", s)),
            "[a-z;' ]{0,5}".prop_map(|s| format!("'{}'", s.replace('\'', "''"))),
            "[a-z;' ]{0,5}".prop_map(|s| format!("E'{}'", s.replace('\'', "\\'"))),
            "[a-z; \"]{0,5}".prop_map(|s| format!("\"{}\"", s.replace('"', "\"\""))),
            ("[a-z]{0,3}", "[a-z; '$\n]{0,8}").prop_map(|(tag, body)| {
                let body = body.replace('$', "");
                format!("${tag}${body}${tag}$")
            }),
            "[a-z; ']{0,6}".prop_map(|s| format!("/* {} /* {} */ */", s, s)),
            "[a-z; ']{0,6}".prop_map(|s| format!("-- {}\n", s)),
            "[a-z ;]{0,5}".prop_map(|s| format!("({})", s.replace(';', ","))),
        ]
    }

    fn statement() -> impl Strategy<Value = String> {
        (prop::collection::vec(token(), 0..8), "[a-z]{1,5}").prop_map(|(mut tokens, last)| {
            tokens.insert(0, "select".to_owned());
            tokens.push(last);
            tokens.join(" ")
        })
    }

    fn separator() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(";".to_owned()),
            Just(";\n".to_owned()),
            Just(";\r\n\r\n".to_owned()),
            Just("; -- trailing; comment\n".to_owned()),
            Just(";\n/* between; */;\n".to_owned()),
        ]
    }

    proptest! {
        #[test]
        fn joined_statements_split_back(
            parts in prop::collection::vec((statement(), separator()), 0..6),
            lead in prop_oneof![Just(""), Just("\n\n"), Just("-- head\n"), Just("\u{feff}")],
        ) {
            let mut sql = lead.to_owned();
            let mut expected = Vec::new();
            for (stmt, sep) in &parts {
                let line = 1 + sql.matches('\n').count();
                expected.push((stmt.clone(), u32::try_from(line).unwrap()));
                sql.push_str(stmt);
                sql.push_str(sep);
            }
            let got: Vec<(String, u32)> = split(&sql).into_iter().map(|s| (s.text, s.line)).collect();
            prop_assert_eq!(got, expected);
        }

        #[test]
        fn never_panics_and_statements_split_back_alone(sql in "[a-z$'\"();/*\\-\n E]{0,60}|\\PC{0,60}") {
            let mut last = 0;
            for s in split(&sql) {
                prop_assert!(s.offset >= last);
                prop_assert!(!s.text.starts_with(|c: char| is_space(c as u8) && c.is_ascii()));
                prop_assert_eq!(&sql[s.offset..s.offset + s.text.len()], s.text.as_str());
                last = s.offset + s.text.len();
                let again = split(&s.text);
                prop_assert_eq!(again.len(), 1);
                prop_assert_eq!(&again[0].text, &s.text);
            }
        }
    }
}
