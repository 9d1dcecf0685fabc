//! Small readers over squawk's concrete syntax tree: names as PostgreSQL folds them, and the
//! tables a statement touches.

use squawk_syntax::{ast, ast::AstNode, SyntaxKind, SyntaxNode, SyntaxToken};

/// An identifier as PostgreSQL resolves it: unquoted names fold to lower case.
pub(crate) fn ident(token: &SyntaxToken) -> String {
    let text = token.text();
    match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(quoted) => quoted.replace("\"\"", "\""),
        None => text.to_lowercase(),
    }
}

fn first_token(node: &SyntaxNode) -> Option<SyntaxToken> {
    node.descendants_with_tokens()
        .filter_map(|e| e.into_token())
        .find(|t| !t.kind().is_trivia())
}

/// The unqualified name of a (possibly schema-qualified) path: its last segment.
pub(crate) fn last_segment(node: &SyntaxNode) -> Option<String> {
    node.descendants()
        .filter(|n| {
            matches!(
                n.kind(),
                SyntaxKind::PATH_SEGMENT | SyntaxKind::PATH_SEGMENT_REF
            )
        })
        .last()
        .and_then(|segment| first_token(&segment))
        .map(|t| ident(&t))
}

/// The name in the first descendant of `kind`.
pub(crate) fn name_in(node: &SyntaxNode, kind: SyntaxKind) -> Option<String> {
    node.descendants()
        .find(|n| n.kind() == kind)
        .and_then(|n| last_segment(&n).or_else(|| first_token(&n).map(|t| ident(&t))))
}

/// The names of the `COLUMN_NAME_REF`s under `node`, in order.
pub(crate) fn column_refs(node: &SyntaxNode) -> Vec<String> {
    node.descendants()
        .filter(|n| n.kind() == SyntaxKind::COLUMN_NAME_REF)
        .filter_map(|n| first_token(&n))
        .map(|t| ident(&t))
        .collect()
}

pub(crate) fn children(node: &SyntaxNode, kind: SyntaxKind) -> impl Iterator<Item = SyntaxNode> {
    node.children().filter(move |n| n.kind() == kind)
}

pub(crate) fn has_child(node: &SyntaxNode, kind: SyntaxKind) -> bool {
    node.children().any(|n| n.kind() == kind)
}

/// A type as written, in lower case with single spaces: `timestamp with time zone`.
pub(crate) fn type_text(node: &SyntaxNode) -> String {
    node.text()
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The string of a `'…'` literal, without its quotes.
pub(crate) fn string_literal(node: &SyntaxNode) -> Option<String> {
    let token = node
        .descendants_with_tokens()
        .filter_map(|e| e.into_token())
        .find(|t| t.kind() == SyntaxKind::STRING)?;
    let text = token.text();
    let inner = text.strip_prefix('\'')?.strip_suffix('\'')?;
    Some(inner.replace("''", "'"))
}

/// The tables a statement reads or changes the definition of (and so locks): the table it
/// alters, indexes, comments on or triggers on, and the tables its foreign keys reference.
/// Index names are resolved through `index_table`.
pub(crate) fn touched_tables(
    stmt: &ast::Stmt,
    index_table: impl Fn(&str) -> Option<String>,
) -> Vec<String> {
    let node = stmt.syntax();
    let mut tables = Vec::new();
    for n in node.descendants() {
        match n.kind() {
            SyntaxKind::TABLE_NAME_REF | SyntaxKind::RELATION_NAME_REF => {
                tables.extend(last_segment(&n));
            }
            SyntaxKind::QUALIFIED_COLUMN_NAME_REF => {
                let segments: Vec<SyntaxNode> = n
                    .descendants()
                    .filter(|d| d.kind() == SyntaxKind::PATH_SEGMENT_REF)
                    .collect();
                if segments.len() >= 2 {
                    tables.extend(first_token(&segments[segments.len() - 2]).map(|t| ident(&t)));
                }
            }
            SyntaxKind::INDEX_REF => {
                let name = last_segment(&n).unwrap_or_default();
                tables.push(index_table(&name).unwrap_or(name));
            }
            _ => {}
        }
    }
    tables.sort();
    tables.dedup();
    tables
}
