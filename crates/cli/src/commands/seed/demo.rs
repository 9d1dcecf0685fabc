//! `crmdb seed demo`: loads the deterministic demo data with a progress bar per table,
//! then prints what was loaded and how fast.

use std::io::IsTerminal as _;
use std::sync::Arc;

use anyhow::Context as _;
use crmdb_demo::{DemoError, DemoOptions, DemoReport, Progress, Table};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::context::Context;
use crate::exit::Exit;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Organizations to load (positions 1 to N of the seed).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    orgs: u32,
    /// Leads per organization (about 25 rows of other tables come with each).
    #[arg(long, default_value_t = 200)]
    leads_per_org: u32,
    /// The seed: the same seed gives the same data, ids and timestamps included.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Parallel connections, each loading whole organizations.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    connections: u16,
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let database = ctx.database().await?;
    let keyring = ctx.keyring()?;
    let options = DemoOptions {
        organizations: args.orgs,
        leads_per_org: args.leads_per_org,
        seed: args.seed,
        connections: usize::from(args.connections),
    };
    let bars = Arc::new(Bars::new());
    let interrupt = async {
        // Without a signal handler, never interrupt (rather than at once).
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let result = crmdb_demo::load(
        &database.options,
        keyring,
        &options,
        bars.clone(),
        interrupt,
    )
    .await;
    bars.finish();
    match result {
        Ok(report) => print_report(ctx, &report),
        Err(error @ DemoError::Interrupted { .. }) => {
            eprintln!("{error}");
            Err(Exit(130).into())
        }
        Err(error) => Err(error).context("could not load the demo data"),
    }
}

fn print_report(ctx: &Context, report: &DemoReport) -> anyhow::Result<()> {
    if ctx.out.is_json() {
        return ctx.out.json(report);
    }
    let loaded = if report.organizations_loaded > 0 {
        format!(
            "{} organization(s) loaded with {} leads each",
            report.organizations_loaded, report.leads_per_org
        )
    } else {
        "0 organization(s) loaded".to_owned()
    };
    ctx.out.line(format!(
        "demo:       seed {}, {loaded}, {} already present",
        report.seed, report.organizations_skipped
    ));
    for line in describe_present(report) {
        ctx.out.line(line);
    }
    if report.organizations_loaded == 0 {
        return Ok(());
    }
    let mut rows: Vec<Vec<String>> = report
        .tables
        .iter()
        .filter(|t| t.rows > 0)
        .map(|t| {
            vec![
                t.table.to_owned(),
                t.rows.to_string(),
                format!("{:.0}", t.rows_per_second),
            ]
        })
        .collect();
    rows.push(vec![
        "total".to_owned(),
        report.rows.to_string(),
        format!("{:.0}", report.rows_per_second),
    ]);
    ctx.out.table(&["table", "rows", "rows/s"], rows);
    ctx.out.line(format!("loaded in {:.1} s", report.seconds));
    Ok(())
}

/// What is already there, in runs of consecutive organizations with the same number of
/// leads, and whether `--leads-per-org` changes anything for them (it does not: a present
/// organization is never reloaded). Ends with "nothing changed" when nothing was loaded.
fn describe_present(report: &DemoReport) -> Vec<String> {
    let mut runs: Vec<(u32, u32, u64)> = Vec::new();
    for org in &report.already_present {
        match runs.last_mut() {
            Some((_, last, leads)) if *last + 1 == org.position && *leads == org.leads => {
                *last = org.position;
            }
            _ => runs.push((org.position, org.position, org.leads)),
        }
    }
    let mut lines: Vec<String> = runs
        .iter()
        .map(|&(first, last, leads)| {
            let leads = if leads == 1 {
                "1 lead".to_owned()
            } else {
                format!("{leads} leads")
            };
            if first == last {
                format!(
                    "present:    organization {first} of seed {} is already loaded with {leads}",
                    report.seed
                )
            } else {
                format!(
                    "present:    organizations {first}–{last} of seed {} are already loaded with {leads} each",
                    report.seed
                )
            }
        })
        .collect();
    let differ = report
        .already_present
        .iter()
        .any(|org| org.leads != u64::from(report.leads_per_org));
    if differ {
        lines.push(format!(
            "note:       --leads-per-org {} changes nothing for organizations already loaded: \
             use another --seed for new organizations",
            report.leads_per_org
        ));
    }
    if report.organizations_loaded == 0 {
        lines.push(if differ || report.already_present.is_empty() {
            "nothing changed".to_owned()
        } else {
            "nothing changed: every organization asked for is already loaded".to_owned()
        });
    }
    lines
}

/// One bar for the organizations and one spinner per table, on standard error; hidden
/// unless both standard output and standard error are terminals.
struct Bars {
    multi: MultiProgress,
    organizations: ProgressBar,
    tables: Vec<ProgressBar>,
}

impl Bars {
    fn new() -> Bars {
        let visible = std::io::stderr().is_terminal() && std::io::stdout().is_terminal();
        let target = if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let multi = MultiProgress::with_draw_target(target);
        let organizations = multi.add(ProgressBar::new(0));
        organizations.set_style(
            ProgressStyle::with_template(
                "{prefix:>28} [{bar:30}] {pos}/{len} organizations, {elapsed} (eta {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        organizations.set_prefix("demo");
        let style = ProgressStyle::with_template("{prefix:>28} {human_pos:>12} rows {per_sec:>16}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let tables = Table::ALL
            .iter()
            .map(|table| {
                let bar = multi.add(ProgressBar::no_length());
                bar.set_style(style.clone());
                bar.set_prefix(table.name());
                bar
            })
            .collect();
        Bars {
            multi,
            organizations,
            tables,
        }
    }

    fn finish(&self) {
        for bar in self.tables.iter().chain([&self.organizations]) {
            bar.abandon();
        }
        self.multi.clear().ok();
    }
}

impl Progress for Bars {
    fn start(&self, to_load: u32, _already_loaded: u32) {
        self.organizations.set_length(u64::from(to_load));
    }

    fn rows(&self, table: Table, rows: u64) {
        self.tables[table as usize].inc(rows);
    }

    fn organization_done(&self) {
        self.organizations.inc(1);
    }
}
