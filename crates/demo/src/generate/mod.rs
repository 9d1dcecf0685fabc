//! The demo-data generator: everything of one organization, from its seed and index
//! alone, written as COPY rows per table and handed out in chunks (the organization's own
//! rows first, then a few thousand leads at a time with everything hanging off them, then
//! the rows that count the leads), so its memory does not grow with the organization. No
//! wall clock: time runs up to [`BASE`], and ids are UUIDv7 of the generated timestamps
//! with seeded random bits.

mod billing;
mod crm;
mod extras;
mod people;

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crmdb_secrets::{Binding, Keyring, Sealed, SecretString};
use crmdb_seed::data::Defaults;

use crate::copy::{CopyBuf, Field, Ts};
use crate::ids;
use crate::tables::Table;
use crate::words::{slugify, words, Words};

/// The demo's "now": 2026-01-01T00:00:00Z. Every created_at is at or before it.
pub const BASE: i64 = 1_767_225_600_000;
const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// The password of every demo user (the demo is for trying the CRM out).
pub const DEMO_PASSWORD: &str = "crmdb-demo";

/// A plan of the catalogue as the database has it.
#[derive(Debug, Clone)]
pub struct PlanRef {
    pub code: String,
    pub id: Uuid,
    pub price_cents: i64,
    pub yearly: bool,
}

/// What every organization of one run shares: computed once.
pub struct Shared {
    pub keyring: Keyring,
    pub defaults: Defaults,
    pub plans: Vec<PlanRef>,
    pub leads_per_org: u32,
    password_hash: String,
    backup_code_hashes: Vec<String>,
}

impl Shared {
    /// The shared parts of a run: the demo password's and backup codes' argon2 hashes
    /// (salts from `seed`, so they repeat), the defaults and the plan ids.
    pub fn new(
        keyring: Keyring,
        defaults: Defaults,
        plans: Vec<PlanRef>,
        seed: u64,
        leads_per_org: u32,
    ) -> Result<Shared, crmdb_secrets::Error> {
        let mut rng = ChaCha8Rng::from_seed(derive_seed(seed, u64::MAX));
        let password_hash = crmdb_secrets::hash_password_with_salt_rng(
            &SecretString::from(DEMO_PASSWORD),
            &mut rng,
        )?;
        let backup_code_hashes = (1..=8)
            .map(|i| {
                let code = SecretString::from(format!("demo-{i:04}"));
                crmdb_secrets::hash_password_with_salt_rng(&code, &mut rng)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Shared {
            keyring,
            defaults,
            plans,
            leads_per_org,
            password_hash,
            backup_code_hashes,
        })
    }
}

/// An organization before its data: enough to know whether it is already loaded.
pub struct OrgHeader {
    pub index: u32,
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub created: i64,
    rng: ChaCha8Rng,
}

/// Leads per chunk: about 26 rows and 9 KB of COPY text each, so a chunk is some 18 MB,
/// large enough to amortise a COPY per table, small enough that an interrupt is noticed
/// within a fraction of a second.
pub const LEADS_PER_CHUNK: u32 = 2_000;

/// A part of one organization's COPY rows, per table in load order. Loaded in order, the
/// chunks of an organization satisfy every foreign key as they arrive.
pub struct Chunk {
    pub organization_id: Uuid,
    /// Leads in this chunk (the first and the last chunk have none).
    pub leads: u32,
    pub tables: Vec<CopyBuf>,
}

impl Chunk {
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }
}

/// The 32-byte seed of organization `index` of run `seed`: organizations are independent,
/// so any subset can be generated, in any order, in parallel.
fn derive_seed(seed: u64, index: u64) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(b"crmdb-demo/v1\0");
    hasher.update(seed.to_be_bytes());
    hasher.update(index.to_be_bytes());
    hasher.finalize().into()
}

/// The identity of organization `index` of run `seed`.
pub fn header(seed: u64, index: u32) -> OrgHeader {
    let mut rng = ChaCha8Rng::from_seed(derive_seed(seed, u64::from(index)));
    let w = words();
    let created = BASE - rng.gen_range(365 * DAY..540 * DAY);
    let kind = w.business_kinds[rng.gen_range(0..w.business_kinds.len())];
    let name = w.business_names[rng.gen_range(0..w.business_names.len())];
    let org_name = format!("{kind} {name}");
    let id = ids::v7(created, &mut rng);
    let mut base = slugify(&org_name);
    base.truncate(40);
    let base = base.trim_end_matches('-').to_owned();
    let slug = format!("{base}-{:08x}", rng.next_u32());
    OrgHeader {
        index,
        id,
        name: org_name,
        slug,
        created,
        rng,
    }
}

/// Generates every row of the organization, handing each chunk to `emit` as soon as it
/// is complete: first the organization, its people, billing and every organization-wide
/// row the leads refer to; then [`LEADS_PER_CHUNK`] leads at a time with all their rows;
/// last the rows that count the leads. Stops early, returning false, when `emit` returns
/// false or `stopped` says so (checked between leads). The rows do not depend on the chunk
/// size: concatenated, the chunks of any size are the same bytes.
pub fn stream(
    shared: &Shared,
    header: OrgHeader,
    leads_per_chunk: u32,
    emit: &mut dyn FnMut(Chunk) -> bool,
    stopped: &dyn Fn() -> bool,
) -> bool {
    let w = words();
    let mut gen = Gen {
        shared,
        w,
        org: header.id,
        org_name: header.name,
        slug: header.slug,
        org_created: header.created,
        city: (w.cities[0].0, w.cities[0].1, w.cities[0].2),
        rng: header.rng,
        tables: empty_tables(),
        members: Vec::new(),
        sellers: Vec::new(),
        seq: 0,
    };
    gen.city = gen.pick(&w.cities);
    gen.organization();
    gen.people();
    gen.billing();
    let mut refs = gen.org_defaults();
    gen.templates(&refs);
    if !emit(gen.take(0)) {
        return false;
    }
    let count = shared.leads_per_org;
    let mut times = SortedTimes::new(count);
    let mut imported = [0u32; 3];
    let mut index = 0;
    while index < count {
        let end = index.saturating_add(leads_per_chunk.max(1)).min(count);
        for i in index..end {
            if i % 64 == 0 && stopped() {
                return false;
            }
            match gen.lead_at(&mut refs, &mut times, i) {
                "facebook_ads" => imported[0] += 1,
                "google_ads" => imported[1] += 1,
                "linkedin" => imported[2] += 1,
                _ => {}
            }
        }
        if stopped() || !emit(gen.take(end - index)) {
            return false;
        }
        index = end;
    }
    gen.marketing_integrations(imported);
    gen.background_jobs(5);
    gen.logins();
    !stopped() && emit(gen.take(0))
}

/// Every row of the organization in one piece (tests and the dump example).
pub fn generate(shared: &Shared, header: OrgHeader) -> Chunk {
    let organization_id = header.id;
    let mut tables = empty_tables();
    stream(
        shared,
        header,
        LEADS_PER_CHUNK,
        &mut |chunk| {
            for (all, part) in tables.iter_mut().zip(chunk.tables) {
                all.bytes.extend_from_slice(&part.bytes);
                all.rows += part.rows;
            }
            true
        },
        &|| false,
    );
    Chunk {
        organization_id,
        leads: shared.leads_per_org,
        tables,
    }
}

fn empty_tables() -> Vec<CopyBuf> {
    Table::ALL.iter().map(|_| CopyBuf::default()).collect()
}

/// The creation times of an organization's leads, drawn in increasing order one at a time
/// (O(1) memory whatever the count): the order statistics of `n` uniforms, each the
/// previous one moved up by the minimum of the uniforms still to come (`1 − V^(1/r)` of
/// the remaining range, for a uniform `V` and `r` left), then skewed like the earlier
/// sorted draws.
struct SortedTimes {
    remaining: u32,
    u: f64,
}

impl SortedTimes {
    fn new(count: u32) -> SortedTimes {
        SortedTimes {
            remaining: count,
            u: 0.0,
        }
    }

    /// The next uniform order statistic in `[0, 1)`, never smaller than the previous one.
    fn next(&mut self, rng: &mut ChaCha8Rng) -> f64 {
        let v: f64 = rng.gen();
        let r = f64::from(self.remaining.max(1));
        self.remaining = self.remaining.saturating_sub(1);
        self.u += (1.0 - self.u) * (1.0 - (1.0 - v).powf(1.0 / r));
        self.u = self.u.min(1.0 - f64::EPSILON);
        self.u
    }
}

/// A member of the organization, as the rest of its data refers to it.
struct Member {
    user_id: Uuid,
    first: &'static str,
    full_name: String,
    email: String,
    role: &'static str,
    joined: i64,
}

/// The organization-wide rows the leads refer to.
struct OrgRefs {
    pipeline: Uuid,
    stages: Vec<Uuid>,
    /// (template id, index in the defaults)
    templates: Vec<(Uuid, usize)>,
    /// Per template: how many times the leads use it, decided before the first lead so
    /// that its row (which the uses refer to) carries its final count.
    usage: Vec<u32>,
    /// Per template: uses not yet given to a lead.
    unused: Vec<u32>,
    tags: Vec<Uuid>,
    /// Per member index: its calendar integration, if any.
    calendars: Vec<Option<Uuid>>,
    webhooks: Vec<(Uuid, Vec<String>)>,
}

struct Gen<'a> {
    shared: &'a Shared,
    w: &'static Words,
    org: Uuid,
    org_name: String,
    slug: String,
    org_created: i64,
    /// (city, state, area code) of the organization.
    city: (&'static str, &'static str, &'static str),
    rng: ChaCha8Rng,
    /// The rows of the chunk being generated, per table in load order.
    tables: Vec<CopyBuf>,
    members: Vec<Member>,
    /// Indexes of the active members who work leads.
    sellers: Vec<usize>,
    /// A per-organization counter that makes provider ids unique.
    seq: u64,
}

impl Gen<'_> {
    fn row(&mut self, table: Table, fields: &[&dyn Field]) {
        self.tables[table as usize].row(fields);
    }

    /// The rows generated since the last chunk, as a chunk of `leads` leads.
    fn take(&mut self, leads: u32) -> Chunk {
        Chunk {
            organization_id: self.org,
            leads,
            tables: std::mem::replace(&mut self.tables, empty_tables()),
        }
    }

    fn id(&mut self, at: i64) -> Uuid {
        ids::v7(at, &mut self.rng)
    }

    /// A time in `[lo, hi)`, or `lo` when the range is empty.
    fn between(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            self.rng.gen_range(lo..hi)
        }
    }

    /// `at` moved into São Paulo's working hours (08:00 to 19:00) of the same UTC day,
    /// where sales conversations happen.
    fn working_hours(at: i64) -> i64 {
        let day = at - at.rem_euclid(DAY);
        day + 11 * HOUR + at.rem_euclid(DAY) % (11 * HOUR)
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.gen_bool(p)
    }

    fn below(&mut self, n: usize) -> usize {
        self.rng.gen_range(0..n.max(1))
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.rng.gen_range(0..items.len())]
    }

    /// An index drawn with the given weights.
    fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut draw = self.rng.gen_range(0..total);
        for (i, &w) in weights.iter().enumerate() {
            if draw < w {
                return i;
            }
            draw -= w;
        }
        weights.len() - 1
    }

    fn chars(&mut self, n: usize, alphabet: &[u8]) -> String {
        (0..n)
            .map(|_| char::from(alphabet[self.rng.gen_range(0..alphabet.len())]))
            .collect()
    }

    fn alnum(&mut self, n: usize) -> String {
        self.chars(
            n,
            b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        )
    }

    fn hex(&mut self, n: usize) -> String {
        self.chars(n, b"0123456789abcdef")
    }

    fn digits(&mut self, n: usize) -> String {
        let first = self.chars(1, b"123456789");
        first + &self.chars(n - 1, b"0123456789")
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// A Brazilian mobile number in E.164: +55, area code, 9 and eight digits.
    fn mobile(&mut self, ddd: &str) -> String {
        let rest = self.chars(1, b"6789") + &self.chars(7, b"0123456789");
        format!("+55{ddd}9{rest}")
    }

    /// A landline in E.164: +55, area code, eight digits starting with 2-5.
    fn landline(&mut self, ddd: &str) -> String {
        let rest = self.chars(1, b"2345") + &self.chars(7, b"0123456789");
        format!("+55{ddd}{rest}")
    }

    fn ip(&mut self) -> String {
        let first = self.pick(&[177u8, 179, 186, 187, 189, 191, 200, 201]);
        let (a, b, c) = (
            self.rng.gen_range(0..=255u8),
            self.rng.gen_range(0..=255u8),
            self.rng.gen_range(1..=254u8),
        );
        format!("{first}.{a}.{b}.{c}")
    }

    fn user_agent(&mut self) -> &'static str {
        self.pick(&[
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
            "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36",
            "crmdb-mobile/2.4.1 (Android 14)",
        ])
    }

    /// The SHA-256 of a fresh random token, as stored for tokens only ever compared.
    fn token_hash(&mut self) -> Vec<u8> {
        let token = self.alnum(43);
        crmdb_secrets::hash_token(&SecretString::from(token))
    }

    /// `plaintext` sealed for this organization's `table.column`, the nonce from the seeded
    /// generator so the ciphertext repeats with the seed and key.
    fn seal(
        &mut self,
        organization_id: Uuid,
        table: &str,
        column: &str,
        plaintext: String,
    ) -> Sealed {
        let binding = Binding {
            organization_id,
            table,
            column,
        };
        self.shared
            .keyring
            .seal_with_rng(&SecretString::from(plaintext), binding, &mut self.rng)
    }

    /// A person's name: (first name, full name).
    fn person(&mut self) -> (&'static str, String) {
        let first = self.pick(&self.w.first_names);
        let last = self.pick(&self.w.surnames);
        let full = if self.chance(0.3) {
            let middle = self.pick(&self.w.surnames);
            format!("{first} {middle} {last}")
        } else {
            format!("{first} {last}")
        };
        (first, full)
    }

    fn organization(&mut self) {
        let settings = serde_json::json!({
            "city": self.city.0,
            "state": self.city.1,
            "business_hours": { "start": "08:00", "end": "18:00", "days": ["seg", "ter", "qua", "qui", "sex"] },
            "onboarding_completed": true,
        });
        let (org, created) = (self.org, Ts(self.org_created));
        let (name, slug) = (self.org_name.clone(), self.slug.clone());
        let updated = Ts(self.between(self.org_created + 30 * DAY, BASE));
        self.row(
            Table::Organizations,
            &[
                &org,
                &name,
                &slug,
                &"pt-BR",
                &"America/Sao_Paulo",
                &"BRL",
                &settings,
                &None::<Ts>,
                &created,
                &updated,
            ],
        );
    }
}

/// Cents as the `numeric(14,2)` text `1234.56`.
fn money(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// Cents as Brazilian reais for people: `R$ 12.345,67`.
fn brl(cents: i64) -> String {
    let units = (cents / 100).to_string();
    let first = match units.len() % 3 {
        0 => 3,
        n => n,
    };
    let mut grouped = units[..first].to_owned();
    for group in units.as_bytes()[first..].chunks(3) {
        grouped.push('.');
        grouped.extend(group.iter().map(|&b| char::from(b)));
    }
    format!("R$ {grouped},{:02}", cents % 100)
}

/// A timestamp as São Paulo's local date and time (UTC-3, no daylight saving since 2019).
fn local_date_time(at: i64) -> (String, String) {
    let local = chrono::DateTime::from_timestamp_millis(at - 3 * HOUR).unwrap_or_default();
    (
        local.format("%d/%m/%Y").to_string(),
        local.format("%H:%M").to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_formats() {
        assert_eq!(money(123456), "1234.56");
        assert_eq!(money(5), "0.05");
        assert_eq!(brl(1234567), "R$ 12.345,67");
        assert_eq!(brl(99), "R$ 0,99");
        assert_eq!(brl(100000000), "R$ 1.000.000,00");
    }

    #[test]
    fn local_time_is_sao_paulo() {
        assert_eq!(
            local_date_time(BASE),
            ("31/12/2025".to_owned(), "21:00".to_owned())
        );
    }

    #[test]
    fn headers_repeat_with_the_seed_and_differ_between_organizations() {
        let a = header(42, 0);
        let again = header(42, 0);
        let b = header(42, 1);
        let other_seed = header(7, 0);
        assert_eq!(
            (a.id, &a.slug, a.created),
            (again.id, &again.slug, again.created)
        );
        assert_ne!(a.id, b.id);
        assert_ne!(a.id, other_seed.id);
        assert!(a.created < BASE);
        assert!(a.slug.len() <= 63 && a.slug.ends_with(&a.slug[a.slug.len() - 8..]));
    }

    #[test]
    fn generated_rows_match_their_copy_column_lists_and_repeat() {
        let keyring = Keyring::new(vec![crmdb_secrets::Key::from_bytes([1; 32])]).unwrap();
        let plans = vec![PlanRef {
            code: "pro".into(),
            id: Uuid::from_u128(1),
            price_cents: 29900,
            yearly: false,
        }];
        let shared = Shared::new(keyring, Defaults::load().unwrap(), plans, 9, 30).unwrap();
        let data = generate(&shared, header(9, 0));
        for (table, buf) in Table::ALL.iter().zip(&data.tables) {
            assert!(buf.rows > 0, "{} has rows", table.name());
            let text = std::str::from_utf8(&buf.bytes).unwrap();
            for line in text.lines() {
                assert_eq!(
                    line.split('\t').count(),
                    table.columns(),
                    "{}: {line}",
                    table.name()
                );
            }
        }
        let again = generate(&shared, header(9, 0));
        assert!(data
            .tables
            .iter()
            .zip(&again.tables)
            .all(|(a, b)| a.bytes == b.bytes));
    }

    fn shared(leads: u32) -> Shared {
        let keyring = Keyring::new(vec![crmdb_secrets::Key::from_bytes([1; 32])]).unwrap();
        let plans = vec![PlanRef {
            code: "pro".into(),
            id: Uuid::from_u128(1),
            price_cents: 29900,
            yearly: false,
        }];
        Shared::new(keyring, Defaults::load().unwrap(), plans, 9, leads).unwrap()
    }

    #[test]
    fn chunks_of_any_size_give_the_same_rows_and_leads_come_oldest_first() {
        let shared = shared(45);
        let whole = generate(&shared, header(9, 3));
        let mut chunks = Vec::new();
        let complete = stream(
            &shared,
            header(9, 3),
            7,
            &mut |chunk| {
                chunks.push(chunk);
                true
            },
            &|| false,
        );
        assert!(complete);
        let leads: Vec<u32> = chunks.iter().map(|c| c.leads).collect();
        assert_eq!(leads, [0, 7, 7, 7, 7, 7, 7, 3, 0]);
        for (i, table) in Table::ALL.iter().enumerate() {
            let joined: Vec<u8> = chunks
                .iter()
                .flat_map(|c| c.tables[i].bytes.iter().copied())
                .collect();
            assert!(joined == whole.tables[i].bytes, "{}", table.name());
        }
        let created_at = |line: &str| line.split('\t').nth(21).unwrap().to_owned();
        let leads = std::str::from_utf8(&whole.tables[Table::Leads as usize].bytes).unwrap();
        let times: Vec<String> = leads.lines().map(created_at).collect();
        assert_eq!(times.len(), 45);
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    }

    #[test]
    fn a_stop_ends_the_stream_between_chunks() {
        let shared = shared(10_000);
        let mut chunks = 0;
        let complete = stream(
            &shared,
            header(9, 0),
            100,
            &mut |_| {
                chunks += 1;
                chunks < 3
            },
            &|| false,
        );
        assert!(!complete);
        assert_eq!(chunks, 3);
    }

    #[test]
    fn sorted_times_increase_and_stay_below_one() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut times = SortedTimes::new(1_000_000);
        let mut previous = 0.0;
        let mut sum = 0.0;
        for _ in 0..1_000_000 {
            let u = times.next(&mut rng);
            assert!(u >= previous && u < 1.0);
            previous = u;
            sum += u;
        }
        let mean = sum / 1_000_000.0;
        assert!(
            (mean - 0.5).abs() < 0.01,
            "uniform order statistics: {mean}"
        );
    }
}
