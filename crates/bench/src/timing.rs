//! Concurrent clients that repeat a step for a while, the latencies they record and their
//! percentiles.

use std::future::Future;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::{Error, Settings};

/// Untimed steps each client runs first, to open the pools' connections and warm the
/// server's caches.
const WARM_UP_STEPS: usize = 20;

/// Latencies of one path, in microseconds, and its throughput.
#[derive(Debug, Default)]
pub(crate) struct Timings {
    micros: Vec<u64>,
    pub(crate) qps: f64,
}

impl Timings {
    /// The nearest-rank percentile `p` (0 to 100), in milliseconds; 0 without latencies.
    pub(crate) fn percentile_ms(&self, p: f64) -> f64 {
        if self.micros.is_empty() {
            return 0.0;
        }
        let rank = ((p / 100.0) * self.micros.len() as f64).ceil() as usize;
        self.micros[rank.clamp(1, self.micros.len()) - 1] as f64 / 1000.0
    }
}

/// Runs `step` from the settings' concurrent clients, each for the settings' duration after
/// a short untimed warm-up (pooled connections, warm caches); each step returns the
/// latencies it recorded, one per path of `paths` it timed.
pub(crate) async fn drive<F, Fut>(
    settings: &Settings,
    paths: usize,
    step: F,
) -> Result<Vec<Timings>, Error>
where
    F: Fn(StdRng) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(StdRng, Vec<Duration>), Error>> + Send + 'static,
{
    let Settings {
        duration,
        concurrency,
        seed,
    } = *settings;
    let mut tasks = Vec::new();
    for client in 0..concurrency {
        let step = step.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(seed ^ u64::from(client));
            for _ in 0..WARM_UP_STEPS {
                rng = step(rng).await?.0;
            }
            let mut timings: Vec<Vec<u64>> = vec![Vec::new(); paths];
            let started = Instant::now();
            while started.elapsed() < duration {
                let (next, latencies) = step(rng).await?;
                rng = next;
                for (path, latency) in latencies.into_iter().enumerate() {
                    timings[path].push(latency.as_micros() as u64);
                }
            }
            Ok::<_, Error>((timings, started.elapsed()))
        }));
    }
    let mut merged: Vec<Timings> = (0..paths).map(|_| Timings::default()).collect();
    for task in tasks {
        let (timings, elapsed) = task.await??;
        for (path, micros) in timings.into_iter().enumerate() {
            merged[path].qps += micros.len() as f64 / elapsed.as_secs_f64();
            merged[path].micros.extend(micros);
        }
    }
    for timings in &mut merged {
        timings.micros.sort_unstable();
    }
    Ok(merged)
}

/// `a ÷ b`, or 0 when `b` is not positive (a path that recorded nothing).
pub(crate) fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let timings = Timings {
            micros: (1..=100).map(|i| i * 1000).collect(),
            qps: 0.0,
        };
        assert_eq!(timings.percentile_ms(50.0), 50.0);
        assert_eq!(timings.percentile_ms(99.0), 99.0);
        assert_eq!(Timings::default().percentile_ms(99.0), 0.0);
    }

    #[test]
    fn ratios_of_an_empty_path_are_zero() {
        assert_eq!(ratio(3.0, 2.0), 1.5);
        assert_eq!(ratio(3.0, 0.0), 0.0);
    }
}
