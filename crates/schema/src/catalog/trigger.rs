//! A table's user triggers (not the internal ones that enforce foreign keys): their
//! definition, and what the audit checks of it (timing, level, events, enabled).

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Trigger {
    pub name: String,
    /// The `CREATE TRIGGER` statement, as `pg_get_triggerdef` prints it.
    pub definition: String,
    /// The name of the function it calls.
    pub function: String,
    pub before: bool,
    pub row_level: bool,
    pub on_update: bool,
    /// `UPDATE OF col, ...`: fires only when one of those columns is set.
    pub column_list: bool,
    pub enabled: bool,
}

impl Trigger {
    /// The definition as drift compares it and the docs show it: a disabled trigger is
    /// marked, since it never fires.
    pub fn text(&self) -> String {
        let mark = if self.enabled { "" } else { " -- DISABLED" };
        format!("{}{mark}", self.definition)
    }
}

// tgtype bits (pg_trigger.h): 1 row, 2 before, 16 update.
pub(super) const TRIGGERS: &str = "
SELECT t.tgrelid AS table_oid, t.tgname::text AS name, pg_get_triggerdef(t.oid) AS definition,
       p.proname::text AS function,
       (t.tgtype & 2) <> 0 AS before, (t.tgtype & 1) <> 0 AS row_level,
       (t.tgtype & 16) <> 0 AS on_update, cardinality(t.tgattr::int2[]) > 0 AS column_list,
       t.tgenabled <> 'D' AS enabled
FROM pg_trigger t
JOIN pg_proc p ON p.oid = t.tgfoid
WHERE t.tgrelid = ANY($1) AND NOT t.tgisinternal";
