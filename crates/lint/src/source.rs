//! One migration file to lint, parsed by squawk's parser, and the positions findings point at.

use rowan::TextSize;
use squawk_syntax::{ast, Parse};

/// One migration file to lint.
#[derive(Debug, Clone)]
pub struct MigrationFile {
    /// The name findings are reported under, e.g. `0011_deals.up.sql`.
    pub name: String,
    pub text: String,
    /// The runner applies the file in one transaction (it has no `crmdb:no-transaction`
    /// directive).
    pub transactional: bool,
}

/// A place in the linted set: files in the order given, then offsets in the file; what
/// happens earlier in this order has already happened when a later statement runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Pos {
    pub file: usize,
    pub offset: TextSize,
}

pub(crate) struct Parsed {
    pub index: usize,
    pub name: String,
    pub text: String,
    pub transactional: bool,
    pub parse: Parse<ast::SourceFile>,
    pub statements: Vec<ast::Stmt>,
}

impl Parsed {
    pub fn new(index: usize, file: &MigrationFile) -> Parsed {
        let parse = ast::SourceFile::parse(&file.text);
        let statements = parse.tree().stmts().collect();
        Parsed {
            index,
            name: file.name.clone(),
            text: file.text.clone(),
            transactional: file.transactional,
            parse,
            statements,
        }
    }

    pub fn pos(&self, offset: TextSize) -> Pos {
        Pos {
            file: self.index,
            offset,
        }
    }

    /// 1-based line and character column of a byte offset.
    pub fn line_col(&self, offset: TextSize) -> (usize, usize) {
        let before = &self.text[..usize::from(offset).min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |at| at + 1);
        (line, before[line_start..].chars().count() + 1)
    }
}
