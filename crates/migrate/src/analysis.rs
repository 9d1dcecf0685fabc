//! What a script's text says about how it must run: the no-transaction directive, statements
//! PostgreSQL refuses inside a transaction block, and the index a concurrent build creates.

use crate::splitter::{skip_block_comment, Lexer, Token, TokenKind, BOM};

/// The directive that makes a file run outside a transaction, one statement at a time.
pub const NO_TRANSACTION_DIRECTIVE: &str = "crmdb:no-transaction";

/// Whether the comments before the first SQL token carry the no-transaction directive.
///
/// A BOM, blank lines and other comments may come first, because editors and file headers
/// put them there; a directive after the first statement has started does not count.
pub fn has_no_transaction_directive(sql: &str) -> bool {
    let mut rest = sql.strip_prefix(BOM).unwrap_or(sql);
    loop {
        rest = rest.trim_start();
        if let Some(comment) = rest.strip_prefix("--") {
            let (body, after) = comment.split_once('\n').unwrap_or((comment, ""));
            let body = body.trim();
            if body
                .strip_prefix(NO_TRANSACTION_DIRECTIVE)
                .is_some_and(|tail| tail.is_empty() || tail.starts_with(char::is_whitespace))
            {
                return true;
            }
            rest = after;
        } else if rest.starts_with("/*") {
            rest = &rest[skip_block_comment(rest.as_bytes(), 0)..];
        } else {
            return false;
        }
    }
}

/// Why a statement matters to the way its file runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatementKind {
    /// Anything PostgreSQL runs inside a transaction block.
    Ordinary,
    /// PostgreSQL refuses it inside a transaction block (`what` names it, e.g. `VACUUM`).
    NeedsNoTransaction { what: &'static str },
    /// `BEGIN`, `COMMIT` and the like: the runner owns the transaction of a transactional file.
    TransactionControl,
}

/// The index a `CREATE INDEX CONCURRENTLY` statement builds, as far as the text tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConcurrentIndex {
    /// The index name, case-folded as PostgreSQL folds it.
    pub name: String,
    /// The table as written (possibly schema-qualified and quoted), for `to_regclass`.
    pub table: String,
}

/// The first words of a statement, lower-cased, punctuation and literals skipped.
struct Words<'a> {
    sql: &'a str,
    tokens: Vec<Token>,
}

impl<'a> Words<'a> {
    fn new(sql: &'a str) -> Self {
        Words {
            sql,
            tokens: Lexer::new(sql).take(24).collect(),
        }
    }

    fn words(&self) -> Vec<String> {
        self.tokens
            .iter()
            .filter(|t| t.kind == TokenKind::Word)
            .map(|t| self.sql[t.start..t.end].to_ascii_lowercase())
            .collect()
    }
}

/// Classifies one statement (as the splitter returns it).
pub fn classify(sql: &str) -> StatementKind {
    let words = Words::new(sql).words();
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    let at = |i: usize| w.get(i).copied().unwrap_or("");
    let needs = |what| StatementKind::NeedsNoTransaction { what };
    let index_at = if at(1) == "unique" { 2 } else { 1 };
    match at(0) {
        "create" if at(index_at) == "index" && at(index_at + 1) == "concurrently" => {
            needs("CREATE INDEX CONCURRENTLY")
        }
        "drop" if at(1) == "index" && at(2) == "concurrently" => needs("DROP INDEX CONCURRENTLY"),
        "reindex" if w.contains(&"concurrently") => needs("REINDEX CONCURRENTLY"),
        "reindex" if w.iter().any(|&x| x == "database" || x == "system") => {
            needs("REINDEX DATABASE/SYSTEM")
        }
        "vacuum" => needs("VACUUM"),
        "create" | "drop" if at(1) == "database" => needs("CREATE/DROP DATABASE"),
        "create" | "drop" if at(1) == "tablespace" => needs("CREATE/DROP TABLESPACE"),
        "alter" if at(1) == "system" => needs("ALTER SYSTEM"),
        "alter" if at(1) == "database" && at(3) == "set" && at(4) == "tablespace" => {
            needs("ALTER DATABASE ... SET TABLESPACE")
        }
        "cluster" if w.len() == 1 || (w.len() == 2 && at(1) == "verbose") => {
            needs("CLUSTER without a table")
        }
        "begin" | "commit" | "end" | "abort" => StatementKind::TransactionControl,
        "start" if at(1) == "transaction" => StatementKind::TransactionControl,
        "rollback" if at(1) != "to" => StatementKind::TransactionControl,
        "prepare" if at(1) == "transaction" => StatementKind::TransactionControl,
        _ => StatementKind::Ordinary,
    }
}

/// The index a `CREATE [UNIQUE] INDEX CONCURRENTLY [IF NOT EXISTS] name ON [ONLY] table`
/// statement builds; `None` for other statements and for unnamed indexes.
pub fn concurrent_index(sql: &str) -> Option<ConcurrentIndex> {
    let all = Words::new(sql);
    let mut tokens = all.tokens.iter().copied().peekable();
    let text = |t: &Token| &sql[t.start..t.end];
    let mut expect = |word: &str, optional: bool| -> Option<bool> {
        let is = tokens
            .peek()
            .is_some_and(|t| t.kind == TokenKind::Word && text(t).eq_ignore_ascii_case(word));
        if is {
            tokens.next();
        }
        (is || optional).then_some(is)
    };
    expect("create", false)?;
    expect("unique", true)?;
    expect("index", false)?;
    expect("concurrently", false)?;
    if expect("if", true)? {
        expect("not", false)?;
        expect("exists", false)?;
    }
    let name_token = tokens.next()?;
    let name = match name_token.kind {
        TokenKind::Word if !text(&name_token).eq_ignore_ascii_case("on") => {
            text(&name_token).to_ascii_lowercase()
        }
        TokenKind::QuotedIdent => {
            let quoted = text(&name_token);
            quoted[1..quoted.len().saturating_sub(1).max(1)].replace("\"\"", "\"")
        }
        _ => return None,
    };
    let on = tokens.next()?;
    if on.kind != TokenKind::Word || !text(&on).eq_ignore_ascii_case("on") {
        return None;
    }
    let mut first = tokens.next()?;
    if first.kind == TokenKind::Word && text(&first).eq_ignore_ascii_case("only") {
        first = tokens.next()?;
    }
    let mut last = first;
    let is_name = |t: &Token| matches!(t.kind, TokenKind::Word | TokenKind::QuotedIdent);
    if !is_name(&first) {
        return None;
    }
    while tokens
        .peek()
        .is_some_and(|t| t.kind == TokenKind::Punct(b'.'))
    {
        tokens.next();
        match tokens.next() {
            Some(t) if is_name(&t) => last = t,
            _ => return None,
        }
    }
    Some(ConcurrentIndex {
        name,
        table: sql[first.start..last.end].to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directive_on_the_first_line() {
        assert!(has_no_transaction_directive(
            "-- crmdb:no-transaction\nCREATE INDEX ..."
        ));
        assert!(has_no_transaction_directive("--crmdb:no-transaction"));
    }

    #[test]
    fn directive_after_bom_blank_lines_and_comments() {
        let sql = "\u{feff}\r\n\r\n-- Adds indexes.\n/* long\n /* nested */ header */\n\
                   -- crmdb:no-transaction because CONCURRENTLY\nCREATE INDEX";
        assert!(has_no_transaction_directive(sql));
    }

    #[test]
    fn directive_after_sql_or_misspelt_does_not_count() {
        assert!(!has_no_transaction_directive(
            "SELECT 1;\n-- crmdb:no-transaction\n"
        ));
        assert!(!has_no_transaction_directive("-- crmdb:no-transactions\n"));
        assert!(!has_no_transaction_directive(
            "-- see crmdb:no-transaction\n"
        ));
        assert!(!has_no_transaction_directive(
            "/* -- crmdb:no-transaction */\n"
        ));
        assert!(!has_no_transaction_directive(""));
    }

    #[test]
    fn statements_that_refuse_a_transaction() {
        for sql in [
            "CREATE INDEX CONCURRENTLY i ON t (a)",
            "create unique index concurrently if not exists i on t (a)",
            "CREATE /* x */ INDEX\n CONCURRENTLY ON t (a)",
            "DROP INDEX CONCURRENTLY i",
            "REINDEX INDEX CONCURRENTLY i",
            "REINDEX (VERBOSE, CONCURRENTLY) TABLE t",
            "REINDEX DATABASE crm",
            "VACUUM (ANALYZE) t",
            "CREATE DATABASE x",
            "DROP DATABASE x",
            "ALTER SYSTEM SET work_mem = '1MB'",
            "ALTER DATABASE x SET TABLESPACE y",
            "CLUSTER",
        ] {
            assert!(
                matches!(classify(sql), StatementKind::NeedsNoTransaction { .. }),
                "{sql}"
            );
        }
    }

    #[test]
    fn ordinary_statements() {
        for sql in [
            "CREATE INDEX i ON t (concurrently)",
            "CREATE TABLE vacuum (a int)",
            "ALTER DATABASE x SET work_mem = '1MB'",
            "CLUSTER t USING i",
            "ROLLBACK TO SAVEPOINT a",
            "SELECT 'VACUUM'",
            "COMMENT ON TABLE t IS 'CREATE INDEX CONCURRENTLY'",
        ] {
            assert_eq!(classify(sql), StatementKind::Ordinary, "{sql}");
        }
    }

    #[test]
    fn transaction_control() {
        for sql in [
            "BEGIN",
            "begin transaction",
            "START TRANSACTION",
            "COMMIT",
            "END",
            "ROLLBACK",
        ] {
            assert_eq!(classify(sql), StatementKind::TransactionControl, "{sql}");
        }
    }

    #[test]
    fn concurrent_index_names_and_tables() {
        let got = concurrent_index("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS Person_Email ON ONLY crm.\"Person\" (email)");
        assert_eq!(
            got,
            Some(ConcurrentIndex {
                name: "person_email".into(),
                table: "crm.\"Person\"".into()
            })
        );
        let got = concurrent_index("create index concurrently \"A\"\"b\" on t using gin (x)");
        assert_eq!(
            got,
            Some(ConcurrentIndex {
                name: "A\"b".into(),
                table: "t".into()
            })
        );
        assert_eq!(concurrent_index("CREATE INDEX CONCURRENTLY ON t (a)"), None);
        assert_eq!(concurrent_index("CREATE INDEX i ON t (a)"), None);
    }
}
