//! The CRM schema: the migrations embedded in the binary, the model of a live database's
//! catalog, the audit of it, and the personal-data map its column comments declare.

pub mod audit;
pub mod catalog;
pub mod pii;
pub mod roles;

use crmdb_migrate::{Migrations, SourceError};

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// The CRM's migrations, as embedded at build time from the repository's `migrations/`.
pub fn migrations() -> Result<Migrations, SourceError> {
    Migrations::from_files(EMBEDDED.iter().copied())
}

#[cfg(test)]
mod tests {
    /// The checksum every database that applied a version recorded. A landed file may gain
    /// lint annotations (`-- squawk-ignore …` lines, which the checksum leaves out), and
    /// nothing else: any other edit makes every deployed database report it as changed.
    const RECORDED: [(i64, &str); 12] = [
        (
            1,
            "2f101feb54a7d1b580904255a3bd6cb8f6efb0a375831b373c6be4243130436a",
        ),
        (
            2,
            "e2a8b12d4ebdf4ddd8ba7d3121fcefb31edbae5142f9e994b9178ec27cd8d2bd",
        ),
        (
            3,
            "759b57268473280319c203cdbad8be0201f1cd25da9e3caf69023758b20eba77",
        ),
        (
            4,
            "0d3a79b8be28bc34f1a355c0f800ac850b4f156afc40aca5be20d14e20e2f50d",
        ),
        (
            5,
            "dc7a9d6d78770358f0dedbfa05f0a7d6689537a508f032ea153562e4e51c9f82",
        ),
        (
            6,
            "9249a947ab7ab1865288907fa8b7a92d5de699590b23a78cd3713b4141602dd6",
        ),
        (
            7,
            "e671bd274e6335ad0ffacfe116179319fb23ebf27ce789f30b39c3a49fbc910e",
        ),
        (
            8,
            "a36af3bd7a69a6a5a2abdf5ce086a2f7013a3034d5c5b50e7b6ae7af9d8d06bc",
        ),
        (
            9,
            "c32202c807ed9d24a348eb2ce548736446e35ea8a0770354976ba7317ea44c64",
        ),
        (
            10,
            "2cc081b64a13f9e4d6dbf2ebe735ce03a13f4807c5aabd48260664115892f3d8",
        ),
        (
            11,
            "809d28359836fa62aaaac46e9a32d32e13ac338b56190034722bf8d06db8701d",
        ),
        (
            12,
            "197b89be7810471a556de1b17d207231b193d2ff936667840a4427148beedd98",
        ),
    ];

    #[test]
    fn landed_migrations_keep_the_checksums_databases_recorded() {
        let migrations = super::migrations().unwrap();
        for (version, recorded) in RECORDED {
            let m = migrations.get(version).unwrap();
            assert_eq!(m.up.checksum, recorded, "{}", m.up.file);
        }
    }
}
