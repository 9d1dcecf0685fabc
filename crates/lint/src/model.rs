//! What the linted set creates, gathered over all its files: the tables with their columns,
//! keys, scope, row-level security and policies, and the indexes. The tenant rules judge a
//! table by the whole set, because a later file may complete it (RLS is enabled in one file
//! for all tables). The dangerous-operation rules judge a statement by the file it is in:
//! a table is new only in the transaction that created it, as squawk has it; once that
//! file has committed, other sessions may use the table.

use std::collections::BTreeMap;

use rowan::TextRange;
use squawk_syntax::{ast, ast::AstNode, SyntaxKind, SyntaxNode};

use crate::source::{Parsed, Pos};
use crate::syntax::{
    children, column_refs, has_child, last_segment, name_in, string_literal, type_text,
};

/// Where a piece of SQL is, to report it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Site {
    pub file: usize,
    pub range: TextRange,
}

impl Site {
    fn of(file: &Parsed, node: &SyntaxNode) -> Site {
        Site {
            file: file.index,
            range: node.text_range(),
        }
    }
}

#[derive(Debug)]
pub(crate) struct Column {
    pub name: String,
    /// Lower case, single-spaced, as written.
    pub ty: String,
    pub not_null: bool,
}

#[derive(Debug)]
pub(crate) struct ForeignKey {
    pub columns: Vec<String>,
    pub target: String,
    /// Empty when the reference names no columns (the target's primary key).
    pub target_columns: Vec<String>,
    pub on_delete_cascade: bool,
    /// `ON DELETE SET NULL` without a column list: it nulls every referencing column.
    pub set_null_all: bool,
    pub site: Site,
}

#[derive(Debug)]
pub(crate) struct Table {
    pub name: String,
    pub created: Pos,
    /// The `CREATE TABLE` statement: findings about the table point here.
    pub site: Site,
    pub columns: Vec<Column>,
    pub primary_key: Option<Vec<String>>,
    pub foreign_keys: Vec<ForeignKey>,
    /// The word after `scope:` in the table's comment.
    pub scope: Option<String>,
    pub rls_enabled: bool,
    pub rls_forced: bool,
    pub policies: usize,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Declared `scope: tenant`, or, without a declared scope, carrying an
    /// `organization_id` column.
    pub fn is_tenant(&self) -> bool {
        match &self.scope {
            Some(scope) => scope == "tenant",
            None => self.column("organization_id").is_some(),
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Model {
    pub tables: BTreeMap<String, Table>,
    indexes: BTreeMap<String, String>,
    /// Every `CREATE TABLE` of a transactional file, by table: a table dropped and created
    /// again is new again in the file that re-creates it.
    created_in_transaction: BTreeMap<String, Vec<Pos>>,
}

impl Model {
    pub fn build(files: &[Parsed]) -> Model {
        let mut model = Model::default();
        for file in files {
            for stmt in &file.statements {
                model.add(file, stmt);
            }
        }
        model
    }

    /// The table an index created in the set belongs to.
    pub fn index_table(&self, index: &str) -> Option<String> {
        self.indexes.get(index).cloned()
    }

    /// The transaction `at` runs in created `table` before `at`: it is new, no other session
    /// can see it yet.
    pub fn new_at(&self, table: &str, at: Pos) -> bool {
        self.created_in_transaction
            .get(table)
            .is_some_and(|created| {
                created
                    .iter()
                    .any(|c| c.file == at.file && c.offset < at.offset)
            })
    }

    fn add(&mut self, file: &Parsed, stmt: &ast::Stmt) {
        let node = stmt.syntax();
        match stmt {
            ast::Stmt::CreateTable(_) => {
                let Some(name) = name_in(node, SyntaxKind::TABLE_NAME) else {
                    return;
                };
                let mut table = Table {
                    name: name.clone(),
                    created: file.pos(node.text_range().start()),
                    site: Site::of(file, node),
                    columns: Vec::new(),
                    primary_key: None,
                    foreign_keys: Vec::new(),
                    scope: None,
                    rls_enabled: false,
                    rls_forced: false,
                    policies: 0,
                };
                for list in children(node, SyntaxKind::TABLE_ARG_LIST) {
                    for arg in list.children() {
                        match arg.kind() {
                            SyntaxKind::COLUMN => add_column(file, &mut table, &arg),
                            _ => add_constraint(file, &mut table, &arg),
                        }
                    }
                }
                if file.transactional {
                    self.created_in_transaction
                        .entry(name.clone())
                        .or_default()
                        .push(table.created);
                }
                self.tables.entry(name).or_insert(table);
            }
            ast::Stmt::AlterTable(_) => {
                let Some(name) = name_in(node, SyntaxKind::TABLE_RELATION_NAME) else {
                    return;
                };
                let Some(table) = self.tables.get_mut(&name) else {
                    return;
                };
                for action in node.children() {
                    match action.kind() {
                        SyntaxKind::ADD_COLUMN => add_column(file, table, &action),
                        SyntaxKind::ADD_CONSTRAINT => {
                            for constraint in action.children() {
                                add_constraint(file, table, &constraint);
                            }
                        }
                        SyntaxKind::ENABLE_RLS => table.rls_enabled = true,
                        SyntaxKind::FORCE_RLS => table.rls_forced = true,
                        SyntaxKind::DISABLE_RLS => table.rls_enabled = false,
                        SyntaxKind::NO_FORCE_RLS => table.rls_forced = false,
                        _ => {}
                    }
                }
            }
            ast::Stmt::CreatePolicy(_) => {
                if let Some(table) =
                    name_in(node, SyntaxKind::ON_TABLE).and_then(|name| self.tables.get_mut(&name))
                {
                    table.policies += 1;
                }
            }
            ast::Stmt::CommentOn(_) => {
                let Some(object) = node
                    .children()
                    .find(|n| n.kind() == SyntaxKind::OBJECT_TABLE)
                else {
                    return;
                };
                if let Some(table) = last_segment(&object).and_then(|n| self.tables.get_mut(&n)) {
                    table.scope = string_literal(node).and_then(|text| scope_of(&text));
                }
            }
            ast::Stmt::CreateIndex(_) => {
                if let (Some(index), Some(table)) = (
                    name_in(node, SyntaxKind::INDEX),
                    name_in(node, SyntaxKind::TABLE_RELATION_NAME),
                ) {
                    self.indexes.insert(index, table);
                }
            }
            _ => {}
        }
    }
}

/// `scope: tenant. Leads of …` → `tenant`.
fn scope_of(comment: &str) -> Option<String> {
    let rest = comment.trim_start().strip_prefix("scope:")?.trim_start();
    let word: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    (!word.is_empty()).then(|| word.to_lowercase())
}

fn add_column(file: &Parsed, table: &mut Table, node: &SyntaxNode) {
    let Some(name) = name_in(node, SyntaxKind::COLUMN_NAME) else {
        return;
    };
    let ty = node
        .children()
        .find(|n| ast::Type::can_cast(n.kind()))
        .map(|n| type_text(&n))
        .unwrap_or_default();
    let mut column = Column {
        name: name.clone(),
        ty,
        not_null: false,
    };
    for clause in node.children() {
        match clause.kind() {
            SyntaxKind::NOT_NULL_CONSTRAINT => column.not_null = true,
            SyntaxKind::PRIMARY_KEY_CONSTRAINT => {
                column.not_null = true;
                table.primary_key = Some(vec![name.clone()]);
            }
            SyntaxKind::REFERENCES_CONSTRAINT => {
                table
                    .foreign_keys
                    .push(foreign_key(file, &clause, vec![name.clone()]));
            }
            _ => {}
        }
    }
    table.columns.push(column);
}

fn add_constraint(file: &Parsed, table: &mut Table, node: &SyntaxNode) {
    match node.kind() {
        SyntaxKind::PRIMARY_KEY_CONSTRAINT => {
            let columns = column_refs(node);
            for column in &mut table.columns {
                if columns.contains(&column.name) {
                    column.not_null = true;
                }
            }
            table.primary_key = Some(columns);
        }
        SyntaxKind::FOREIGN_KEY_CONSTRAINT => {
            let columns = children(node, SyntaxKind::FOREIGN_KEY_COLUMN_LIST)
                .next()
                .map(|list| column_refs(&list))
                .unwrap_or_default();
            table.foreign_keys.push(foreign_key(file, node, columns));
        }
        _ => {}
    }
}

/// A foreign key from a table constraint (`FOREIGN KEY (…) REFERENCES t (…)`) or a column's
/// `REFERENCES t (…)`.
fn foreign_key(file: &Parsed, node: &SyntaxNode, columns: Vec<String>) -> ForeignKey {
    let target_columns = match node.kind() {
        SyntaxKind::FOREIGN_KEY_CONSTRAINT => children(node, SyntaxKind::FOREIGN_KEY_COLUMN_LIST)
            .nth(1)
            .map(|list| column_refs(&list))
            .unwrap_or_default(),
        _ => node
            .children()
            .filter(|n| n.kind() == SyntaxKind::COLUMN_NAME_REF)
            .filter_map(|n| n.first_token())
            .map(|t| crate::syntax::ident(&t))
            .collect(),
    };
    let on_delete = children(node, SyntaxKind::ON_DELETE_ACTION).next();
    let set_null = on_delete
        .as_ref()
        .and_then(|a| children(a, SyntaxKind::SET_NULL_COLUMNS).next());
    ForeignKey {
        columns,
        target: name_in(node, SyntaxKind::TABLE_NAME_REF).unwrap_or_default(),
        target_columns,
        on_delete_cascade: on_delete
            .as_ref()
            .is_some_and(|a| has_child(a, SyntaxKind::CASCADE)),
        set_null_all: set_null.is_some_and(|s| !has_child(&s, SyntaxKind::COLUMN_REF_LIST)),
        site: Site::of(file, node),
    }
}
