//! How the details of a violation spell the catalog's things.

/// `(a, b)`: a column list.
pub(super) fn columns(list: &[String]) -> String {
    format!("({})", list.join(", "))
}
