//! Chunking speed (not a test; prints figures):
//!
//!     cargo run --release -p mamori-cdc --example bench_chunk [MiB]
//!
//! Chunks MiB (default 1024) of random bytes held in memory with restic's sizes (1 MiB average,
//! 512 KiB to 8 MiB), once sliding one byte at a time on rustic_cdc's `Rabin64` as rustic_core 0.13
//! does, once with `RabinChunker`, and checks both cut the same places.

use std::time::Instant;

const POLY: u64 = 0x3DA3358B4DC173;

fn main() {
    let mib: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1024);
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let data: Vec<u8> = (0..mib << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let (min, max) = (512usize << 10, 8usize << 20);

    let t = Instant::now();
    let one_chain = mamori_cdc::reference_cut_lengths(POLY, 1 << 20, min, max, &data);
    let slow = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let lanes: Vec<usize> = mamori_cdc::RabinChunker::new(POLY, 1 << 20, min, max, &data[..], data.len())
        .map(|c| c.unwrap().len())
        .collect();
    let fast = t.elapsed().as_secs_f64();

    assert_eq!(one_chain, lanes, "the two chunkers cut differently");
    let mb = (mib << 20) as f64 / 1e6;
    println!("{} MiB, {} chunks (same cuts)", mib, lanes.len());
    println!("one byte at a time (rustic_core 0.13): {slow:.3} s, {:.0} MB/s", mb / slow);
    println!("mamori-cdc lanes:                       {fast:.3} s, {:.0} MB/s ({:.1}x)", mb / fast, slow / fast);
}
