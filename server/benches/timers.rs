//! Heap against wheel: insert N timers spread over a minute, then advance the
//! clock in 1 ms steps, popping everything due. tokio-util's DelayQueue, on
//! a paused tokio clock, is the reference. `cargo bench -p server --bench timers`.

use std::{
    task::{Context, Poll},
    time::Duration,
};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use meetmind::scheduler::{Entry, QueueKind};

const SPREAD_MS: i64 = 60_000;

fn entries(n: usize) -> Vec<Entry> {
    // A fixed LCG: the same timers for every implementation.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    (0..n)
        .map(|i| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            Entry { id: i as i64, priority: ((x >> 60) % 10) as i16, run_at: 1 + ((x >> 20) as i64 % SPREAD_MS) }
        })
        .collect()
}

fn run_queue(kind: QueueKind, timers: &[Entry]) -> usize {
    let mut q = kind.build(0);
    for e in timers {
        q.insert(*e);
    }
    let mut popped = 0;
    let mut now = 0;
    while popped < timers.len() {
        now += 1;
        q.advance(now);
        while q.pop_ready().is_some() {
            popped += 1;
        }
    }
    popped
}

fn run_delay_queue(rt: &tokio::runtime::Runtime, timers: &[Entry]) -> usize {
    rt.block_on(async {
        let mut q = tokio_util::time::DelayQueue::with_capacity(timers.len());
        for e in timers {
            q.insert(e.id, Duration::from_millis(e.run_at as u64));
        }
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut popped = 0;
        while popped < timers.len() {
            tokio::time::advance(Duration::from_millis(1)).await;
            while let Poll::Ready(Some(_)) = q.poll_expired(&mut cx) {
                popped += 1;
            }
        }
        popped
    })
}

fn timers(c: &mut Criterion) {
    let mut group = c.benchmark_group("insert_then_pop_due");
    group.sample_size(10);
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
    for n in [10_000usize, 100_000, 1_000_000] {
        let timers = entries(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("heap", n), &timers, |b, t| b.iter(|| run_queue(QueueKind::Heap, t)));
        group.bench_with_input(BenchmarkId::new("wheel", n), &timers, |b, t| b.iter(|| run_queue(QueueKind::Wheel, t)));
        group.bench_with_input(BenchmarkId::new("tokio_delay_queue", n), &timers, |b, t| {
            b.iter(|| run_delay_queue(&rt, t))
        });
    }
    group.finish();
}

criterion_group!(benches, timers);
criterion_main!(benches);
