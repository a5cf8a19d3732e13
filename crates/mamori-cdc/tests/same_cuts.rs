//! The fast chunker must cut exactly where rustic_core 0.13's chunker cuts, as computed by
//! `reference_cut_lengths` (that chunker's algorithm, one byte at a time on rustic_cdc's `Rabin64`).

use std::io::Read;

use mamori_cdc::{RabinChunker, Tables, WINDOW, reference_cut_lengths};

/// A polynomial of a real repository (restic's test polynomial, irreducible, degree 53).
const POLY: u64 = 0x3DA3358B4DC173;

fn reference(poly: u64, avg: usize, min: usize, max: usize, data: &[u8]) -> Vec<Vec<u8>> {
    let mut pos = 0;
    reference_cut_lengths(poly, avg, min, max, data)
        .into_iter()
        .map(|n| {
            pos += n;
            data[pos - n..pos].to_vec()
        })
        .collect()
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Returns short reads of random lengths (as pipes and some file systems do).
struct Jittery<'a> {
    data: &'a [u8],
    rng: Rng,
}
impl Read for Jittery<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.data.len()).min(1 + self.rng.below(70_000));
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn fast(poly: u64, avg: usize, min: usize, max: usize, data: &[u8], seed: u64) -> Vec<Vec<u8>> {
    let reader = Jittery { data, rng: Rng(seed | 1) };
    RabinChunker::new(poly, avg, min, max, reader, data.len()).map(|c| c.unwrap()).collect()
}

fn assert_same(poly: u64, avg: usize, min: usize, max: usize, data: &[u8], seed: u64) {
    let want = reference(poly, avg, min, max, data);
    let got = fast(poly, avg, min, max, data, seed);
    let lens = |v: &[Vec<u8>]| v.iter().map(Vec::len).collect::<Vec<_>>();
    assert_eq!(lens(&got), lens(&want), "chunk lengths differ (avg {avg}, min {min}, max {max}, {} bytes)", data.len());
    assert!(got == want, "chunk contents differ");
}

#[test]
fn restic_sizes_on_random_data_cut_the_same() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let data = rng.bytes(24 << 20);
    let chunks = reference(POLY, 1 << 20, 512 << 10, 8 << 20, &data);
    assert!(chunks.len() > 10, "too few chunks to mean anything: {}", chunks.len());
    assert_same(POLY, 1 << 20, 512 << 10, 8 << 20, &data, 1);
}

#[test]
fn small_sizes_cover_every_branch() {
    // Small average and maximum sizes make cuts in the first 64 positions after the minimum (the
    // window quirk), cuts forced at the maximum, and ends inside every phase.
    let mut rng = Rng(42);
    for round in 0..300u64 {
        let min = WINDOW + rng.below(600);
        let avg = (min.next_power_of_two() << rng.below(4)).max(64);
        let max = avg + rng.below(4 * avg);
        let len = rng.below(60 * max + 1);
        let mut data = rng.bytes(len);
        // Runs of zeros (fingerprint 0: a cut as soon as allowed) and of one repeated byte.
        for _ in 0..rng.below(4) {
            if len > 0 {
                let at = rng.below(len);
                let run = rng.below(3 * max).min(len - at);
                let b = if rng.below(2) == 0 { 0 } else { rng.next() as u8 };
                data[at..at + run].fill(b);
            }
        }
        let poly = if round % 3 == 0 { 0x3AB7_B2C4_9B45_2B } else { POLY };
        assert_same(poly, avg, min, max, &data, round);
    }
}

#[test]
fn the_maximum_cuts_data_that_never_matches() {
    // Data repeating 0..=255 has 256 distinct windows. Pick the smallest average size whose mask
    // none of them matches: such data is cut only at the maximum.
    let t = Tables::new(POLY);
    let cycle: Vec<u8> = (0u8..=255).cycle().take(256 + WINDOW).collect();
    let fps: Vec<u64> = (0..256).map(|s| t.fingerprint(&cycle[s..s + WINDOW])).collect();
    let avg = (10..40)
        .map(|bits| 1usize << bits)
        .find(|avg| fps.iter().all(|fp| fp & (*avg as u64 - 1) != 0))
        .expect("some mask is never matched");
    let max = avg + 100_000;
    let data: Vec<u8> = (0u8..=255).cycle().take(5 * max + 12_345).collect();
    let want = reference(POLY, avg, 1024, max, &data);
    assert_eq!(want.len(), 6);
    assert!(want[..5].iter().all(|c| c.len() == max), "cuts only at the maximum");
    assert_same(POLY, avg, 1024, max, &data, 7);
}

#[test]
fn empty_and_short_inputs() {
    assert!(fast(POLY, 1 << 20, 512 << 10, 8 << 20, &[], 1).is_empty());
    let short = vec![7u8; 1000];
    assert_eq!(fast(POLY, 1 << 20, 512 << 10, 8 << 20, &short, 1), vec![short.clone()]);
    let exact = vec![9u8; 512 << 10];
    assert_same(POLY, 1 << 20, 512 << 10, 8 << 20, &exact, 3);
}

#[test]
fn a_read_error_is_returned_and_ends_the_chunks() {
    struct Failing(usize);
    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::other("disk gone"));
            }
            let n = buf.len().min(self.0);
            buf[..n].fill(1);
            self.0 -= n;
            Ok(n)
        }
    }
    let mut c = RabinChunker::new(POLY, 1 << 20, 512 << 10, 8 << 20, Failing(3 << 20), 0);
    let mut saw_error = false;
    for item in c.by_ref() {
        if let Err(e) = item {
            assert_eq!(e.to_string(), "disk gone");
            saw_error = true;
        }
    }
    assert!(saw_error);
    assert!(c.next().is_none());
}
