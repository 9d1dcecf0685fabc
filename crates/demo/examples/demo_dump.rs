//! Writes the demo data of `--orgs N --leads-per-org M --seed S` as one COPY text file per
//! table (`NN_table.copy`, in load order), for measuring other loaders (`psql \copy`,
//! INSERT per row) on exactly the rows `crmdb seed demo` loads. Plans are referenced by
//! their stable seed ids, so load into a database seeded with `crmdb seed`.
//!
//! cargo run --release -p crmdb-demo --example demo_dump -- DIR ORGS LEADS SEED
//! (the key comes from CRMDB_ENCRYPTION_KEY)

use std::io::Write as _;

use crmdb_demo::generate::{generate, header, PlanRef, Shared};
use crmdb_demo::Table;
use crmdb_secrets::{Keyring, SecretString};
use crmdb_seed::data::Defaults;
use crmdb_seed::defaults::plan_id;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, orgs, leads, seed] = args.as_slice() else {
        return Err("usage: demo_dump DIR ORGS LEADS_PER_ORG SEED".into());
    };
    let (orgs, leads, seed): (u32, u32, u64) = (orgs.parse()?, leads.parse()?, seed.parse()?);
    let keyring = Keyring::parse(&SecretString::from(std::env::var(crmdb_secrets::KEY_VAR)?))?;
    let defaults = Defaults::load()?;
    let mut plans: Vec<PlanRef> = defaults
        .plans
        .iter()
        .map(|p| PlanRef {
            code: p.code.clone(),
            id: plan_id(&p.code),
            price_cents: p.price_cents,
            yearly: p.billing_interval == "year",
        })
        .collect();
    plans.sort_by(|a, b| (a.price_cents, &a.code).cmp(&(b.price_cents, &b.code)));
    let shared = Shared::new(keyring, defaults, plans, seed, leads)?;
    std::fs::create_dir_all(dir)?;
    let mut files = Table::ALL
        .iter()
        .enumerate()
        .map(|(i, table)| {
            let path = format!("{dir}/{i:02}_{}.copy", table.name());
            std::fs::File::create(path).map(std::io::BufWriter::new)
        })
        .collect::<Result<Vec<_>, _>>()?;
    for index in 0..orgs {
        let data = generate(&shared, header(seed, index));
        for (file, buf) in files.iter_mut().zip(&data.tables) {
            file.write_all(&buf.bytes)?;
        }
    }
    for mut file in files {
        file.flush()?;
    }
    Ok(())
}
