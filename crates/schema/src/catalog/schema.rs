//! The whole schema: its tables (and the runner's history table, apart), views, functions
//! and sequences, and the database and schema `public` that hold them.

use std::collections::BTreeMap;

use super::database::{Database, Namespace};
use super::function::Function;
use super::sequence::Sequence;
use super::table::Table;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema {
    /// The tables of the migrations, by name.
    pub tables: BTreeMap<String, Table>,
    /// The migration runner's history table, which no migration creates: left out of
    /// [`Schema::tables`], read so the audit can check that nobody but its owner touches it.
    pub history: Option<Table>,
    /// View name → its definition.
    pub views: BTreeMap<String, String>,
    /// Signature (`name(arg types)`, as `regprocedure` prints it) → the function.
    pub functions: BTreeMap<String, Function>,
    /// Sequence name → who owns and may use it.
    pub sequences: BTreeMap<String, Sequence>,
    /// The database read, its owner (who owns the tables, in the privilege model) and its
    /// privileges.
    pub database: Database,
    /// Schema `public`: its owner and privileges.
    pub public: Namespace,
}
